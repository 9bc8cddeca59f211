from django.urls import path

from addons import views

app_name = "addons"

urlpatterns = [
    path("", views.addon_list, name="index"),
]
