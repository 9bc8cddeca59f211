"""Websockets of the monitoring pages: an app's live log, its terminal, the unread badge.

Each checks on joining that the user may manage the app; Channels only push (the terminal
is the exception by nature: keystrokes go in, the TTY's output comes out).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
from collections.abc import Callable
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.conf import settings

from panel.accounts.services import may_manage_app
from panel.core.access import is_admin
from panel.core.models import AppInstance
from panel.monitoring.logstream import LogCursor, LogLine
from panel.runtime.containers import get_runtime
from panel.runtime.spec import app_resource_names

log = logging.getLogger(__name__)

BACKLOG_LINES = 200
MAX_BACKLOG_LINES = 5000


@database_sync_to_async
def _managed_app(user, app_id, *, admins_only: bool = False) -> AppInstance | None:
    """The app if this user may manage it (admins, and the app's operators unless
    `admins_only`); None for everyone else and for a missing app."""
    if user is None or (admins_only and not is_admin(user)):
        return None
    app = AppInstance.objects.filter(pk=app_id).first()
    return app if app is not None and may_manage_app(user, app) else None


class LogFollower(threading.Thread):
    """Follows one container's log in a thread (the Docker SDK blocks) and hands lines over.

    When the container stops, the stream ends; the follower opens it again from its cursor,
    so a restart shows up in the same view without a lost or repeated line.
    """

    def __init__(
        self, container: str, cursor: LogCursor, tail: int, emit: Callable[[object], None]
    ) -> None:
        super().__init__(name=f"logs-{container}", daemon=True)
        self.container = container
        self.cursor = cursor
        self.tail = tail
        self.emit = emit
        self._stopped = threading.Event()
        self._stream = None

    def run(self) -> None:
        runtime = get_runtime()
        while not self._stopped.is_set():
            try:
                stream = runtime.stream_logs(
                    self.container,
                    since=self.cursor.resume_since,
                    tail=self.tail if not self.cursor.last_ns else "all",
                )
            except Exception:  # noqa: BLE001 - missing container, daemon hiccup
                self.emit({"status": "waiting for the app's container"})
                self._stopped.wait(2.0)
                continue
            self._stream = stream
            if self._stopped.is_set():
                stream.close()
                return
            try:
                for chunk in stream:
                    for line in self.cursor.feed(chunk.decode(errors="replace")):
                        self.emit(line)
            except Exception:  # noqa: BLE001 - the stream was closed under us, or broke
                log.debug("log stream of %s ended", self.container, exc_info=True)
            finally:
                with contextlib.suppress(Exception):
                    stream.close()
                self.cursor.reset_partial()
            # The container stopped (or is restarting): look again shortly.
            self._stopped.wait(1.0)

    def stop(self) -> None:
        self._stopped.set()
        if self._stream is not None:
            with contextlib.suppress(Exception):
                self._stream.close()


class FileFollower(threading.Thread):
    """Follows the files of the manifest's logPaths inside the container, by position.

    Files have no timestamps, so the resume token is each file's position in its log: a
    client that reconnects with the positions it was last sent gets exactly the lines after
    them. A position counts from the first byte ever written, rotations included
    (DockerRuntime.read_log_file), so a rotation neither skips nor repeats a line. Read once
    a second through `docker exec` (no process is left behind in the container).
    """

    POLL_SECONDS = 1.0
    READ_LIMIT = 256 * 1024
    BACKLOG_BYTES = 16 * 1024

    def __init__(
        self,
        container: str,
        offsets: dict[str, int | None],
        emit: Callable[[object], None],
    ) -> None:
        super().__init__(name=f"logfiles-{container}", daemon=True)
        self.container = container
        self.offsets = offsets  # None: start with the file's last lines
        self.emit = emit
        self._stopped = threading.Event()

    def run(self) -> None:
        runtime = get_runtime()
        while not self._stopped.is_set():
            for path, offset in list(self.offsets.items()):
                try:
                    self._read(runtime, path, offset)
                except Exception:  # noqa: BLE001 - stopped container, exec refused
                    log.debug("reading %s in %s failed", path, self.container, exc_info=True)
            self._stopped.wait(self.POLL_SECONDS)

    def _read(self, runtime, path: str, offset: int | None) -> None:
        if offset is None:
            probe = runtime.read_log_file(self.container, path, 0, 0)
            if probe.size < 0:
                return
            offset = probe.rotated + max(0, probe.size - self.BACKLOG_BYTES)
            got = runtime.read_log_file(self.container, path, offset, self.READ_LIMIT)
            start, data = got.start, got.data
            if start > got.rotated:  # started mid-file: drop the partial first line
                cut = data.find(b"\n") + 1
                start, data = start + cut, data[cut:]
        else:
            got = runtime.read_log_file(self.container, path, offset, self.READ_LIMIT)
            if got.size < 0:
                return
            if got.start < 0:
                # Shorter than the position, and not by a rotation (the app truncated it):
                # the new lines from the file's start.
                got = runtime.read_log_file(self.container, path, got.rotated, self.READ_LIMIT)
            start, data = got.start, got.data
            if start > offset:
                # Two rotations since the last read: what was older than path.1 is gone; go
                # on from the next whole line.
                cut = data.find(b"\n") + 1
                start, data = start + cut, data[cut:]
        # Only whole lines: the rest is read again next time, when the writer finished it.
        complete = data[: data.rfind(b"\n") + 1]
        self.offsets[path] = start + len(complete)
        lines = complete.decode(errors="replace").splitlines()
        if lines or self.offsets[path] != offset:
            self.emit({"file": path, "offset": self.offsets[path], "lines": lines})

    def stop(self) -> None:
        self._stopped.set()


class AppLogConsumer(AsyncJsonWebsocketConsumer):
    """ws/apps/<id>/logs/?after=<docker timestamp>&tail=<n>

    Sends {"lines": [{"ts", "text"}, ...]} for stdout/stderr, and for the files of the
    manifest's logPaths {"file", "offset", "lines": [{"file", "text"}, ...]}. A client that
    reconnects passes the `ts` of the last line it has as `after`, and the files' last
    offsets as `offsets` (JSON), and gets exactly the lines after them.
    """

    follower: LogFollower | None = None
    file_follower: FileFollower | None = None
    sender: asyncio.Task | None = None

    async def connect(self) -> None:
        # Admins only, like the log page and the download (see tests/test_url_permissions.py).
        app = await _managed_app(
            self.scope.get("user"), self.scope["url_route"]["kwargs"]["app_id"], admins_only=True
        )
        if app is None:
            await self.close(code=4403)
            return
        await self.accept()
        query = parse_qs(self.scope.get("query_string", b"").decode())
        after = query.get("after", [""])[0]
        try:
            tail = max(0, min(int(query.get("tail", [BACKLOG_LINES])[0]), MAX_BACKLOG_LINES))
        except ValueError:
            tail = BACKLOG_LINES
        queue: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def emit(item: object) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: we are disconnecting
                loop.call_soon_threadsafe(queue.put_nowait, item)

        container = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
        self.follower = LogFollower(container, LogCursor(after), tail, emit)
        self.follower.start()
        paths = [p for p in app.manifest.get("logPaths", []) if isinstance(p, str)]
        if paths:
            self.file_follower = FileFollower(container, _offsets(query, paths), emit)
            self.file_follower.start()
        self.sender = asyncio.create_task(self._send_from(queue))

    async def _send_from(self, queue: asyncio.Queue) -> None:
        while True:
            batch = [await queue.get()]
            # Everything already waiting goes in one message: a burst is one frame, not many.
            while not queue.empty() and len(batch) < 500:
                batch.append(queue.get_nowait())
            lines = [{"ts": i.ts, "text": i.text} for i in batch if isinstance(i, LogLine)]
            if lines:
                await self.send_json({"lines": lines})
            for item in batch:
                if isinstance(item, dict) and "file" in item:
                    lines = [{"file": item["file"], "text": text} for text in item["lines"]]
                    await self.send_json(
                        {"lines": lines, "file": item["file"], "offset": item["offset"]}
                    )
                elif isinstance(item, dict):
                    await self.send_json(item)

    async def disconnect(self, code: int) -> None:
        if self.follower is not None:
            self.follower.stop()
        if self.file_follower is not None:
            self.file_follower.stop()
        if self.sender is not None:
            self.sender.cancel()


def _offsets(query: dict, paths: list[str]) -> dict[str, int | None]:
    """`offsets` from the query (JSON {path: byte offset}, as the last messages said)."""
    try:
        given = json.loads(query.get("offsets", ["{}"])[0])
    except ValueError:
        given = {}
    if not isinstance(given, dict):
        given = {}
    return {
        path: given[path] if isinstance(given.get(path), int) and given[path] >= 0 else None
        for path in paths
    }


class AppListConsumer(AsyncJsonWebsocketConsumer):
    """ws/apps/: a cue for the app list to fetch itself again when an app's health changes.

    The message carries nothing but the cue; the list's own view decides what this user
    sees.
    """

    group = "apps-changed"
    joined = False

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not (user and await database_sync_to_async(is_admin)(user)):
            await self.close(code=4403)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.joined = True
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.joined:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def apps_changed(self, event: dict) -> None:
        await self.send_json({"changed": event.get("app", "")})


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    """ws/notifications/: the unread count of the signed-in admin, as it changes."""

    group = ""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not (user and await database_sync_to_async(is_admin)(user)):
            await self.close(code=4403)
            return
        self.group = f"notifications-{user.pk}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def notification_new(self, event: dict) -> None:
        await self.send_json({"unread": event["unread"], "title": event["title"]})


class TerminalConsumer(AsyncWebsocketConsumer):
    """ws/apps/<id>/terminal/: a shell in the app's container through `docker exec` with a TTY.

    Admins only. Text frames are keystrokes, except a JSON {"resize": [rows, cols]}; binary
    frames back are the TTY's output. Opening and closing are written to the event log.
    """

    app: AppInstance | None = None
    sock: socket.socket | None = None
    reader: asyncio.Task | None = None
    exec_id = ""

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.app = await _managed_app(
            user, self.scope["url_route"]["kwargs"]["app_id"], admins_only=True
        )
        if self.app is None:
            await self.close(code=4403)
            return
        container = app_resource_names(settings.HEARTH_INSTANCE, self.app.id.hex).container
        runtime = get_runtime()
        try:
            self.exec_id, self.sock = await asyncio.to_thread(
                runtime.open_terminal, container, ["/bin/sh", "-c", "exec bash || exec sh"]
            )
        except Exception as exc:  # noqa: BLE001 - stopped or missing container
            await self.accept()
            await self.send(text_data=f"\r\nCannot open a terminal: {exc}\r\n")
            await self.close()
            return
        await self.accept()
        await _record_terminal(self.app, user, "opened")
        self.reader = asyncio.create_task(self._pump_output())

    async def _pump_output(self) -> None:
        assert self.sock is not None
        while True:
            data = await asyncio.to_thread(self.sock.recv, 4096)
            if not data:
                break
            await self.send(bytes_data=data)
        await self.close()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.sock is None:
            return
        if text_data and text_data.startswith('{"resize"'):
            rows, cols = json.loads(text_data)["resize"]
            await asyncio.to_thread(get_runtime().resize_terminal, self.exec_id, rows, cols)
            return
        if text_data and text_data.startswith('{"run"'):
            # A documented command by name: typed into the shell as if by hand, and logged.
            command = await _documented_command(self.app, self.scope.get("user"), text_data)
            if command:
                await asyncio.to_thread(self.sock.sendall, (command + "\r").encode())
            return
        payload = bytes_data if bytes_data is not None else (text_data or "").encode()
        await asyncio.to_thread(self.sock.sendall, payload)

    async def disconnect(self, code: int) -> None:
        if self.reader is not None:
            self.reader.cancel()
        if self.sock is not None:
            # shutdown, not only close: it wakes the thread blocked in recv().
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                self.sock.close()
            await _record_terminal(self.app, self.scope.get("user"), "closed")


@database_sync_to_async
def _documented_command(app: AppInstance | None, user, text_data: str) -> str:
    """The text of the documented command a {"run": name} frame names ("" if none), logged."""
    from panel.core.services import ActionRejected
    from panel.monitoring.commands import find_command, record_command_run

    try:
        item = find_command(app, str(json.loads(text_data).get("run", "")))
    except (ActionRejected, ValueError, AttributeError):
        return ""
    record_command_run(app, user, item, "typed into the terminal")
    return item["command"]


@database_sync_to_async
def _record_terminal(app: AppInstance | None, user, what: str) -> None:
    from panel.core.events import record_event
    from panel.core.models import Event

    record_event(
        "terminal", app=app, actor=user, outcome=Event.Outcome.INFO, message=f"terminal {what}"
    )
