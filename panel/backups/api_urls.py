"""/api/v1/apps/<id>/backups/...: included before panel.core's API, whose
`apps/<id>/<action>/` would otherwise take `backups` for an action."""

from django.urls import path

from panel.backups import api

app_name = "backups_api"

urlpatterns = [
    path("<uuid:app_id>/backups/", api.app_backups, name="app_backups"),
    path("<uuid:app_id>/backups/<int:backup_id>/restore/", api.app_restore, name="app_restore"),
]
