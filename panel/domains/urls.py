from django.urls import path

from panel.domains import views

app_name = "domains"

urlpatterns = [
    path("", views.domain_list, name="index"),
    path("add/", views.domain_add, name="add"),
    path("<int:domain_id>/", views.domain_detail, name="detail"),
    path("<int:domain_id>/remove/", views.domain_remove, name="remove"),
    path("<int:domain_id>/certificate/", views.certificate_upload, name="certificate"),
    path("<int:domain_id>/records/", views.domain_records, name="records"),
    path("apps/<uuid:app_id>/location/", views.app_location, name="app_location"),
    path("apps/<uuid:app_id>/aliases/", views.app_aliases, name="app_aliases"),
    path("apps/<uuid:app_id>/ports/", views.app_ports, name="app_ports"),
    path("apps/<uuid:app_id>/environment/", views.app_environment, name="app_environment"),
]
