from django.urls import path

from panel.core import consumers
from panel.monitoring import consumers as monitoring

websocket_urlpatterns = [
    path("ws/apps/", monitoring.AppListConsumer.as_asgi()),
    path("ws/apps/<uuid:app_id>/", consumers.AppProgressConsumer.as_asgi()),
    path("ws/apps/<uuid:app_id>/logs/", monitoring.AppLogConsumer.as_asgi()),
    path("ws/apps/<uuid:app_id>/terminal/", monitoring.TerminalConsumer.as_asgi()),
    path("ws/tasks/<int:task_id>/", consumers.TaskProgressConsumer.as_asgi()),
    path("ws/notifications/", monitoring.NotificationConsumer.as_asgi()),
]
