from django.urls import path

from panel.backups import views

app_name = "backups"

urlpatterns = [
    path("targets/", views.targets, name="targets"),
    path("targets/add/", views.target_add, name="target_add"),
    path("apps/<uuid:app_id>/backup/", views.app_backup, name="app_backup"),
    path("apps/<uuid:app_id>/restore/", views.app_restore, name="app_restore"),
    path("apps/<uuid:app_id>/delete/", views.app_backup_delete, name="app_backup_delete"),
    path("apps/<uuid:app_id>/clone/<int:backup_id>/", views.app_clone, name="app_clone"),
    path("import/", views.import_app, name="import"),
    path("import/start/", views.import_start, name="import_start"),
    path("targets/<int:target_id>/", views.target_edit, name="target_edit"),
    path("targets/<int:target_id>/remove/", views.target_remove, name="target_remove"),
    path("targets/<int:target_id>/check/", views.target_check, name="target_check"),
    path(
        "apps/<uuid:app_id>/automatic/", views.app_automatic_backups, name="app_automatic_backups"
    ),
]
