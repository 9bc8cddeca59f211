"""Pushes of task progress to the app and task pages. Channels only push; changes go through
POSTs."""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from panel.accounts.services import may_manage_app
from panel.core.access import is_admin, may_watch_app
from panel.core.models import Task


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
        return bool(user and may_watch_app(user, app_id))

    async def task_update(self, event: dict) -> None:
        await self.send_json({k: v for k, v in event.items() if k != "type"})

    async def health_update(self, event: dict) -> None:
        await self.send_json({k: v for k, v in event.items() if k != "type"})


class TaskProgressConsumer(AsyncJsonWebsocketConsumer):
    """ws/tasks/<id>/?offset=<n>: the task's state, percent and the log text after `offset`.

    Every message carries the new `offset`; a client that reconnects sends it back and gets
    exactly the part of the log it has not seen. The row is the truth: each push is only a
    cue to read it again.
    """

    group = ""

    async def connect(self) -> None:
        task_id = self.scope["url_route"]["kwargs"]["task_id"]
        if not await self._may_watch(task_id):
            await self.close(code=4403)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            self.offset = max(0, int(query.get("offset", ["0"])[0]))
        except ValueError:
            self.offset = 0
        self.task_id = task_id
        # Join before the first read, so no update can fall between the two.
        self.group = f"task-{task_id}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._send_progress()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    @database_sync_to_async
    def _may_watch(self, task_id: int) -> bool:
        user = self.scope.get("user")
        task = Task.objects.select_related("app").filter(pk=task_id).first()
        if user is None or task is None:
            return False
        # A task outlives its app (uninstall): then only admins may read it.
        return may_manage_app(user, task.app) if task.app else is_admin(user)

    @database_sync_to_async
    def _load(self) -> Task | None:
        return Task.objects.filter(pk=self.task_id).first()

    async def _send_progress(self) -> None:
        task = await self._load()
        if task is None:
            return
        if len(task.log) < self.offset:
            self.offset = 0  # the client's offset is not from this log: send it whole
        chunk = task.log[self.offset :]
        self.offset = len(task.log)
        await self.send_json(
            {
                "task": task.pk,
                "state": task.state,
                "percent": task.percent,
                "message": task.message,
                "error": task.error,
                "active": task.is_active,
                "log": chunk,
                "offset": self.offset,
            }
        )

    async def task_update(self, event: dict) -> None:
        await self._send_progress()
