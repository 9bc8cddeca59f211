from django.urls import path

from apps_store import views

app_name = "apps_store"

urlpatterns = [
    path("", views.store_index, name="index"),
    path("sync/", views.sync, name="sync"),
    path("updates/", views.updates, name="updates"),
    path("updates/window/", views.update_window, name="update_window"),
    path("updates/apps/<uuid:instance_id>/auto/", views.auto_update, name="auto_update"),
    path("<str:app_id>/", views.app_page, name="app"),
    path("<str:app_id>/icon", views.app_icon, name="icon"),
    path("<str:app_id>/install/", views.install, name="install"),
]
