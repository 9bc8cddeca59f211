"""The web terminal: a websocket to `docker exec` with a TTY in the app's container, for
admins only, each session in the event log."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import sync_to_async
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from panel.core.models import Event
from panel.core.routing import websocket_urlpatterns

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

application = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))


def terminal(app, user) -> WebsocketCommunicator:
    ws = WebsocketCommunicator(application, f"/ws/apps/{app.id}/terminal/")
    ws.scope["user"] = user
    return ws


async def read_until(ws, needle: bytes, timeout: float = 10.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{needle!r} not in {seen!r}"
        message = await ws.receive_output(timeout=remaining)
        seen += message.get("bytes") or (message.get("text") or "").encode()
    return seen


async def test_an_admin_runs_a_command_in_the_apps_tty_and_the_session_is_logged(
    app_with_container, owner
):
    app, _ = await sync_to_async(app_with_container)("sleep 600", subdomain="shell")
    ws = terminal(app, owner)
    connected, _ = await ws.connect()
    assert connected
    await ws.send_to(text_data='{"resize": [30, 100]}')
    await ws.send_to(text_data="stty size; echo $((6 * 7))-$(hostname)\n")
    output = await read_until(ws, b"42-shell")
    assert b"30 100" in output  # a real TTY, resized to the browser's terminal
    await ws.disconnect()
    messages = await sync_to_async(list)(
        Event.objects.filter(app=app, action="terminal").values_list("message", flat=True)
    )
    assert sorted(messages) == ["terminal closed", "terminal opened"]


async def test_a_non_admin_gets_no_terminal(app_with_container, outsider):
    app, _ = await sync_to_async(app_with_container)("sleep 600", subdomain="noshell")
    ws = terminal(app, outsider)
    connected, code = await ws.connect()
    assert (connected, code) == (False, 4403)
    assert await ws.receive_nothing(timeout=0.5)
    assert not await sync_to_async(Event.objects.filter(action="terminal").exists)()
