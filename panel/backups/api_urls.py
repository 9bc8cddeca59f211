"""The backups part of the JSON API, under /api/v1/: an app's backups and restores (included
before panel.core's API, whose `apps/<id>/<action>/` would otherwise take `backups` for an
action) and the import of apps from a backup target."""

from django.urls import path

from panel.backups import api

app_name = "backups_api"

urlpatterns = [
    path("apps/<uuid:app_id>/backups/", api.app_backups, name="app_backups"),
    path(
        "apps/<uuid:app_id>/backups/<int:backup_id>/restore/",
        api.app_restore,
        name="app_restore",
    ),
    path("import/snapshots/", api.import_snapshots, name="import_snapshots"),
    path("import/", api.import_app, name="import_app"),
]
