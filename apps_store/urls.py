from django.urls import path

from apps_store import views

app_name = "apps_store"

urlpatterns = [
    path("", views.store_index, name="index"),
    path("sync/", views.sync, name="sync"),
    path("<str:app_id>/", views.app_page, name="app"),
    path("<str:app_id>/icon", views.app_icon, name="icon"),
    path("<str:app_id>/install/", views.install, name="install"),
]
