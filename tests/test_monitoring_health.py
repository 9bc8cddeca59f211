"""The health sweep against real containers: out of memory, a restart loop, a crash, a
healthy app that is stopped behind Hearth's back and comes back. Each change of verdict is
marked on the app list, logged as an event, notified and mailed (through a real SMTP server)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from panel.core.models import AppInstance, Event
from panel.core.services import install_app
from panel.monitoring.models import HealthRecord, Notification
from panel.monitoring.services import check_all_apps_health, check_app_health
from panel.runtime.spec import app_resource_names
from tests.conftest import wait_for_task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NO_RESTART = {"Name": "no"}
# tail keeps the whole "last line" of /dev/zero in memory, which never ends.
HOG = "tail /dev/zero"


def wait_until(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} not reached in {timeout}s"
        time.sleep(0.2)


def test_oom_restart_loop_and_crash_are_marked_evented_notified_and_mailed(
    app_with_container, owner, outsider, smtp_inbox, owner_client
):
    hog, hog_container = app_with_container(
        HOG, subdomain="hog", memory=32 << 20, restart_policy=NO_RESTART
    )
    looper, loop_container = app_with_container(
        "echo crash; exit 3", subdomain="looper", restart_policy={"Name": "always"}
    )
    crashed, crash_container = app_with_container(
        "echo bye; exit 1", subdomain="crashed", restart_policy=NO_RESTART
    )

    def attrs(container):
        container.reload()
        return container.attrs

    wait_until(lambda: attrs(hog_container)["State"]["Status"] == "exited", what="OOM kill")
    assert attrs(hog_container)["State"]["OOMKilled"]
    wait_until(lambda: attrs(loop_container)["RestartCount"] >= 3, what="three restarts")
    wait_until(lambda: attrs(crash_container)["State"]["Status"] == "exited", what="crash")

    # Docker's event history is a small buffer shared by the host; with it lost, the restart
    # counter alone still shows the loop.
    assert check_app_health(looper, deaths=0, oom_events=0).status == "restarting"
    verdicts = check_all_apps_health()
    assert verdicts[hog.id.hex] == "oom"
    assert verdicts[looper.id.hex] == "restarting"
    assert verdicts[crashed.id.hex] == "down"
    health = dict(AppInstance.objects.values_list("subdomain", "health"))
    assert health == {"hog": "oom", "looper": "restarting", "crashed": "down"}

    for app in (hog, looper, crashed):
        assert Event.objects.filter(app=app, action="health", outcome="failed").count() == 1
    titles = set(Notification.objects.filter(user=owner).values_list("title", flat=True))
    assert titles == {"Hog ran out of memory", "Looper keeps restarting", "Crashed is down"}
    assert not Notification.objects.filter(user=outsider).exists()  # admins only
    for subject in ("Hog ran out of memory", "Looper keeps restarting", "Crashed is down"):
        rcpt, message = smtp_inbox.wait_for(lambda r, m, s=subject: s in m["Subject"])
        assert rcpt == ["owner@example.com"]
        assert "[Hearth]" in message["Subject"]

    page = owner_client.get("/").content.decode()
    assert 'class="health health-oom"' in page
    assert 'class="health health-restarting"' in page
    assert 'class="health health-down"' in page

    # Still broken a window later: the same verdict, no second alert.
    HealthRecord.objects.update(rolled_at=timezone.now() - timedelta(minutes=11))
    assert check_app_health(looper, deaths=0, oom_events=0).status == "restarting"
    check_all_apps_health()
    assert Notification.objects.filter(user=owner).count() == 3
    assert Event.objects.filter(action="health").count() == 3


def test_a_healthy_app_stopped_behind_hearths_back_alerts_then_recovers(
    worker, publish, domain, owner, smtp_inbox, docker_runtime
):
    app = install_app(release=publish("staticsite"), subdomain="watched", domain=domain)
    assert wait_for_task(app.tasks.get().pk).state == "succeeded"
    assert check_all_apps_health()[app.id.hex] == "healthy"
    assert not Notification.objects.exists()

    container = docker_runtime.client.containers.get(
        app_resource_names(docker_runtime.instance, app.id.hex).container
    )
    container.stop(timeout=5)
    assert check_all_apps_health()[app.id.hex] == "down"
    smtp_inbox.wait_for(lambda r, m: m["Subject"] == "[Hearth] Static Website is down")

    container.start()
    wait_until(lambda: check_all_apps_health()[app.id.hex] == "healthy", what="recovery")
    assert Event.objects.filter(app=app, action="health", outcome="ok").exists()
    assert Notification.objects.filter(user=owner, kind="app_recovered").exists()
    app.refresh_from_db()
    assert app.health == "healthy"


async def test_the_app_list_is_told_when_an_apps_health_changes(
    app_with_container, owner, outsider
):
    from asgiref.sync import sync_to_async
    from channels.auth import AuthMiddlewareStack
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator

    from panel.core.routing import websocket_urlpatterns

    application = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
    listener = WebsocketCommunicator(application, "/ws/apps/")
    listener.scope["user"] = owner
    assert (await listener.connect())[0]
    stranger = WebsocketCommunicator(application, "/ws/apps/")
    stranger.scope["user"] = outsider
    assert await stranger.connect() == (False, 4403)

    app, container = await sync_to_async(app_with_container)(
        "exit 1", subdomain="gone", restart_policy=NO_RESTART
    )
    await sync_to_async(container.wait)(timeout=20)
    verdicts = await sync_to_async(check_all_apps_health)()
    assert verdicts[app.id.hex] == "down"
    assert await listener.receive_json_from(timeout=5) == {"changed": app.id.hex}
    await listener.disconnect()


def test_containers_hearth_replaced_on_purpose_are_not_a_restart_loop(worker, publish, domain):
    # Each settings change (like each rolling update) retires a container with a `die`
    # event; three in a row must not read as a crash loop of the app.
    from panel.domains.app_settings import set_env_overrides

    app = install_app(release=publish("staticsite"), subdomain="tuned", domain=domain)
    assert wait_for_task(app.tasks.get().pk).state == "succeeded"
    for round_ in range(3):
        app.refresh_from_db()
        task = set_env_overrides(app, {"ROUND": str(round_)})
        assert wait_for_task(task.pk).state == "succeeded", task.error
    assert check_all_apps_health()[app.id.hex] == "healthy"
