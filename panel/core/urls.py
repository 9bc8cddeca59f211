from django.urls import path

from panel.core import api, views

app_name = "core"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("apps/<uuid:app_id>/", views.app_detail, name="app_detail"),
    path("apps/<uuid:app_id>/progress/", views.app_progress, name="app_progress"),
    path("apps/<uuid:app_id>/<str:action>/", views.app_action, name="app_action"),
    path("tasks/<int:task_id>/", views.task_detail, name="task_detail"),
    path("tasks/<int:task_id>/cancel/", views.task_cancel, name="task_cancel"),
    path("events/", views.event_log, name="events"),
    path("api/v1/apps/", api.apps_collection, name="api_apps"),
    path("api/v1/apps/<uuid:app_id>/", api.app_resource, name="api_app"),
    path("api/v1/apps/<uuid:app_id>/clone/", api.app_clone, name="api_app_clone"),
    path("api/v1/apps/<uuid:app_id>/<str:action>/", api.app_action, name="api_app_action"),
    path("api/v1/tasks/<int:task_id>/", api.task_resource, name="api_task"),
    path("api/v1/tasks/<int:task_id>/cancel/", api.task_cancel, name="api_task_cancel"),
]
