"""Live logs over Channels from real containers: as written, resumable, admins only; the task
page's log and percent pushed the same way; the log driver's cap holds under a flood."""

from __future__ import annotations

import asyncio
import glob
import os
import re
import time

import pytest
from asgiref.sync import sync_to_async
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from panel.core.models import Task
from panel.core.operations import TaskProgress, _finish
from panel.core.routing import websocket_urlpatterns

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

application = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))

COUNTER = "i=0; while true; do i=$((i+1)); echo n$i; sleep 0.05; done"


def socket_for(path: str, user) -> WebsocketCommunicator:
    ws = WebsocketCommunicator(application, path)
    ws.scope["user"] = user
    return ws


async def receive_lines(ws, until, timeout: float = 15.0) -> list[dict]:
    """Log lines from the socket until `until(lines)` is true."""
    lines: list[dict] = []
    deadline = time.monotonic() + timeout
    while not until(lines):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"gave up after {len(lines)} lines: {lines[-3:]}"
        message = await ws.receive_json_from(timeout=remaining)
        lines.extend(message.get("lines", []))
    return lines


async def test_an_admin_sees_a_line_the_moment_the_container_writes_it(app_with_container, owner):
    app, container = await sync_to_async(app_with_container)("echo booted; sleep 600")
    ws = socket_for(f"/ws/apps/{app.id}/logs/", owner)
    connected, _ = await ws.connect()
    assert connected
    backlog = await receive_lines(ws, lambda lines: any(x["text"] == "booted" for x in lines))
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", backlog[0]["ts"])

    written = time.monotonic()
    await sync_to_async(container.exec_run)(["sh", "-c", "echo fresh-line > /proc/1/fd/1"])
    fresh = await receive_lines(ws, lambda lines: any(x["text"] == "fresh-line" for x in lines))
    assert time.monotonic() - written < 2.0
    assert "booted" not in [line["text"] for line in fresh]
    await ws.disconnect()


async def test_reconnecting_resumes_after_the_last_line_without_loss_or_repeats(
    app_with_container, owner
):
    app, _ = await sync_to_async(app_with_container)(COUNTER, subdomain="counter")
    first = socket_for(f"/ws/apps/{app.id}/logs/", owner)
    assert (await first.connect())[0]
    seen = await receive_lines(first, lambda lines: len(lines) >= 20)
    await first.disconnect()

    await asyncio.sleep(1.5)  # the app keeps writing while nobody listens
    after = seen[-1]["ts"]
    second = socket_for(f"/ws/apps/{app.id}/logs/?after={after}", owner)
    assert (await second.connect())[0]
    more = await receive_lines(second, lambda lines: len(lines) >= 40)
    await second.disconnect()

    numbers = [int(line["text"][1:]) for line in seen + more]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), numbers
    assert len(more) >= 40  # the 1.5 s of silence came through too (about 30 lines)


async def test_an_outsiders_log_socket_is_refused_and_receives_nothing(
    app_with_container, outsider
):
    app, container = await sync_to_async(app_with_container)(COUNTER, subdomain="secret")
    ws = socket_for(f"/ws/apps/{app.id}/logs/", outsider)
    connected, code = await ws.connect()
    assert not connected
    assert code == 4403
    assert await ws.receive_nothing(timeout=1.0)

    anonymous = socket_for(f"/ws/apps/{app.id}/logs/", AnonymousUser())
    connected, code = await anonymous.connect()
    assert (connected, code) == (False, 4403)


def test_download_gives_the_last_n_lines_and_only_to_admins(
    app_with_container, owner_client, outsider
):
    app, container = app_with_container("for i in $(seq 1 50); do echo row$i; done; sleep 600")
    deadline = time.monotonic() + 10
    while b"row50" not in container.logs() and time.monotonic() < deadline:
        time.sleep(0.1)
    response = owner_client.get(f"/apps/{app.id}/logs/download/?lines=5")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    lines = response.content.decode().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [f"row{i}" for i in range(46, 51)]

    page = owner_client.get(f"/apps/{app.id}/logs/")
    assert "row50" in page.content.decode()  # the no-JavaScript log page

    owner_client.force_login(outsider)
    assert owner_client.get(f"/apps/{app.id}/logs/download/").status_code == 403
    assert owner_client.get(f"/apps/{app.id}/logs/").status_code == 403


async def test_task_page_socket_streams_log_and_percent_and_resumes_from_its_offset(
    domain, owner, outsider
):
    task = await sync_to_async(Task.objects.create)(kind="install", app_label="site.localhost")
    progress = TaskProgress(task)
    ws = socket_for(f"/ws/tasks/{task.pk}/", owner)
    assert (await ws.connect())[0]
    snapshot = await ws.receive_json_from(timeout=5)
    assert (snapshot["percent"], snapshot["log"], snapshot["active"]) == (0, "", True)

    await sync_to_async(progress.step)(40, "Pulling the image")
    update = await ws.receive_json_from(timeout=5)
    assert update["percent"] == 40
    assert update["log"].endswith("Pulling the image\n")
    offset = update["offset"]
    await ws.disconnect()

    await sync_to_async(progress.step)(60, "Starting the container")  # nobody listening
    again = socket_for(f"/ws/tasks/{task.pk}/?offset={offset}", owner)
    assert (await again.connect())[0]
    resumed = await again.receive_json_from(timeout=5)
    assert resumed["log"].endswith("Starting the container\n")
    assert "Pulling" not in resumed["log"]
    task.state = Task.State.RUNNING
    await sync_to_async(_finish)(task, Task.State.SUCCEEDED)
    done = await again.receive_json_from(timeout=5)
    assert (done["percent"], done["state"], done["active"]) == (100, "succeeded", False)
    await again.disconnect()

    stranger = socket_for(f"/ws/tasks/{task.pk}/", outsider)
    connected, code = await stranger.connect()
    assert (connected, code) == (False, 4403)
    assert await stranger.receive_nothing(timeout=0.5)


def test_a_log_flood_stays_under_the_docker_log_cap(app_with_container):
    from panel.runtime.spec import LOG_CONFIG

    cap = int(LOG_CONFIG["config"]["max-size"].rstrip("m")) * 1024 * 1024
    files = int(LOG_CONFIG["config"]["max-file"])
    # 80 MB of 500-byte lines: more than twice what the driver may keep.
    flood = (
        "yes $(head -c 500 /dev/zero | tr '\\0' x) | head -c 80000000; echo flood-done; sleep 600"
    )
    app, container = app_with_container(flood, subdomain="flood")
    deadline = time.monotonic() + 120
    while b"flood-done" not in container.logs(tail=1):
        assert time.monotonic() < deadline, "the flood did not finish"
        time.sleep(0.5)
    container.reload()
    log_path = container.attrs["LogPath"]
    used = sum(os.path.getsize(path) for path in glob.glob(log_path + "*"))
    # Each rotated file may overshoot by one line's JSON; 1% covers that.
    assert used <= cap * files * 1.01, f"{used} bytes of logs for a cap of {cap * files}"
    assert used > cap  # the flood really did reach the cap and rotate
