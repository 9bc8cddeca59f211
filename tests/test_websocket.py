"""Task progress pushes over Channels: admins watching an app get them, outsiders nothing."""

from __future__ import annotations

import pytest
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from panel.core.models import Task
from panel.core.operations import TaskProgress
from panel.core.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)

application = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))


@pytest.fixture
def app(make_app):
    return make_app("site", state="pending_install")


def communicator(app, user):
    ws = WebsocketCommunicator(application, f"/ws/apps/{app.id}/")
    ws.scope["user"] = user
    return ws


async def test_an_admin_watching_the_app_receives_task_progress(app, owner):
    from asgiref.sync import sync_to_async

    ws = communicator(app, owner)
    connected, _ = await ws.connect()
    assert connected
    task = await sync_to_async(Task.objects.create)(kind="install", app=app)
    await sync_to_async(TaskProgress(task).step)(40, "Pulling")
    message = await ws.receive_json_from(timeout=5)
    assert message == {"task": task.pk, "state": "queued", "percent": 40, "message": "Pulling"}
    await ws.disconnect()


async def test_an_outsiders_socket_is_closed_and_receives_nothing(app, outsider):
    ws = communicator(app, outsider)
    connected, code = await ws.connect()
    assert not connected
    assert code == 4403
