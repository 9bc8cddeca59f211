"""Pushes of task progress to the app page. Channels only push; changes go through POSTs."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from panel.core.access import is_admin
from panel.core.models import AppInstance


class AppProgressConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        app_id = self.scope["url_route"]["kwargs"]["app_id"]
        if not await self._may_watch(app_id):
            await self.close(code=4403)
            return
        self.group = f"app-{app_id.hex}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    @database_sync_to_async
    def _may_watch(self, app_id) -> bool:
        user = self.scope.get("user")
        return bool(user and is_admin(user) and AppInstance.objects.filter(pk=app_id).exists())

    async def task_update(self, event: dict) -> None:
        await self.send_json({k: v for k, v in event.items() if k != "type"})
