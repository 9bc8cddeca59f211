from django.urls import path

from panel.domains import api

app_name = "domains_api"

# Included before the core API, whose apps/<id>/<action>/ would take these paths.
urlpatterns = [
    path("apps/<uuid:app_id>/environment/", api.app_environment, name="app_environment"),
    path("apps/<uuid:app_id>/ports/", api.app_ports, name="app_ports"),
]
