from django.urls import path

from apps_store import views

app_name = "apps_store"

urlpatterns = [
    path("", views.store_index, name="index"),
    path("<str:app_id>/install/", views.install, name="install"),
]
