from django.urls import path

from panel.core import consumers

websocket_urlpatterns = [
    path("ws/apps/<uuid:app_id>/", consumers.AppProgressConsumer.as_asgi()),
]
