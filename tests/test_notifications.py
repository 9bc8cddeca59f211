"""The notification centre (unread count in the top bar, mark read) and email alerts to
admins through the platform's SMTP settings, against a real SMTP server."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from panel.core.models import AppInstance, Task
from panel.core.operations import execute_task
from panel.monitoring.models import Notification
from panel.monitoring.notifications import notify_admins

pytestmark = pytest.mark.django_db(transaction=True)


def badge(client) -> str:
    page = client.get("/").content.decode()
    start = page.index('id="unread-count"')
    return page[start : page.index("</span>", start)]


def test_the_top_bar_counts_unread_notifications_and_marking_read_clears_them(owner, owner_client):
    assert " hidden>0" in badge(owner_client)
    notify_admins("app_down", "Blog is down", "the container exited", email=False)
    notify_admins("app_oom", "Wiki ran out of memory", email=False)
    assert ">2" in badge(owner_client) and "hidden" not in badge(owner_client)

    page = owner_client.get("/notifications/").content.decode()
    assert "Blog is down" in page and "Wiki ran out of memory" in page
    first = Notification.objects.get(title="Blog is down")
    assert owner_client.post("/notifications/read/", {"id": first.pk}).status_code == 302
    assert ">1" in badge(owner_client)
    owner_client.post("/notifications/read/")
    assert " hidden>0" in badge(owner_client)
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_outsiders_cannot_see_or_mark_notifications_and_get_cannot_mark(
    owner, outsider, outsider_client
):
    notify_admins("app_down", "Blog is down", email=False)
    assert outsider_client.get("/notifications/").status_code == 403
    assert outsider_client.post("/notifications/read/").status_code == 403
    assert Notification.objects.filter(read_at__isnull=True).count() == 1
    outsider_client.force_login(owner)
    assert outsider_client.get("/notifications/read/").status_code == 405


def test_alerts_are_mailed_to_every_admin_through_the_smtp_relay(owner, outsider, smtp_inbox):
    get_user_model().objects.create_user("second", "second@example.com", "pw", is_staff=True)
    notify_admins("app_down", "Blog is down", "the container exited with code 1")
    rcpt, message = smtp_inbox.wait_for(lambda r, m: "Blog is down" in m["Subject"])
    assert sorted(rcpt) == ["owner@example.com", "second@example.com"]
    assert message["Subject"] == "[Hearth] Blog is down"
    assert "exited with code 1" in message.get_payload()
    assert Notification.objects.filter(title="Blog is down").count() == 2  # not the outsider


def test_an_unreachable_smtp_relay_does_not_lose_the_notification(owner, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    notify_admins("app_down", "Blog is down")
    assert Notification.objects.filter(user=owner, title="Blog is down").exists()


@pytest.mark.e2e
def test_a_failed_task_notifies_and_mails_the_admins(owner, domain, smtp_inbox, docker_runtime):
    app = AppInstance.objects.create(
        store_app_id="io.hearth.missing",
        title="Missing",
        version="1.0.0",
        manifest={"healthCheckPath": "/", "httpPort": 80},
        image="127.0.0.1:5000/hearth-test/never-pushed:1.0.0",
        subdomain="missing",
        domain=domain,
        memory_limit=64 << 20,
    )
    task = Task.objects.create(kind="install", app=app, app_label=str(app), requested_by=owner)
    try:
        execute_task(task.pk)
    finally:
        docker_runtime.remove_app(app.id.hex)
    task.refresh_from_db()
    assert task.state == "failed"
    note = Notification.objects.get(user=owner, kind="task_install_failed")
    assert note.title == "Install of Missing at missing.localhost failed"
    smtp_inbox.wait_for(lambda r, m: "Install of Missing" in m["Subject"])


def test_a_nearly_full_disk_is_announced_once_a_day(owner, smtp_inbox):
    from panel.monitoring.services import check_disk_space

    # The real root filesystem; a threshold below its real use makes it "nearly full".
    percent = check_disk_space("/", threshold=0.0)
    assert 0 < percent < 100
    note = Notification.objects.get(user=owner, kind="disk_nearly_full")
    assert note.title == f"The disk is {percent:.0f}% full"
    smtp_inbox.wait_for(lambda r, m: "The disk is" in m["Subject"])
    check_disk_space("/", threshold=0.0)
    assert Notification.objects.filter(kind="disk_nearly_full").count() == 1
    check_disk_space("/", threshold=100.0)  # below the threshold: nothing new
    assert Notification.objects.filter(kind="disk_nearly_full").count() == 1


async def test_the_unread_count_is_pushed_to_the_admins_open_pages(owner, outsider):
    from asgiref.sync import sync_to_async
    from channels.auth import AuthMiddlewareStack
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator

    from panel.core.routing import websocket_urlpatterns

    application = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
    admin_socket = WebsocketCommunicator(application, "/ws/notifications/")
    admin_socket.scope["user"] = owner
    assert (await admin_socket.connect())[0]
    stranger = WebsocketCommunicator(application, "/ws/notifications/")
    stranger.scope["user"] = outsider
    assert await stranger.connect() == (False, 4403)

    await sync_to_async(notify_admins)("app_down", "Blog is down", email=False)
    assert await admin_socket.receive_json_from(timeout=5) == {
        "unread": 1,
        "title": "Blog is down",
    }
    assert await stranger.receive_nothing(timeout=0.5)
    await admin_socket.disconnect()


def test_failures_other_parts_log_become_alerts_but_not_every_failed_event(owner, smtp_inbox):
    from panel.core.events import record_event
    from panel.core.models import Event

    record_event("backup", app_label="blog.localhost", outcome=Event.Outcome.FAILED, message="disk")
    record_event("certificate_renewal", app_label="blog.localhost", outcome=Event.Outcome.FAILED)
    record_event("login_failed", outcome=Event.Outcome.FAILED, message="mallory")
    record_event("install", app_label="blog.localhost", outcome=Event.Outcome.FAILED)
    kinds = sorted(Notification.objects.values_list("kind", flat=True))
    assert kinds == ["backup_failed", "certificate_renewal_failed"]
    smtp_inbox.wait_for(lambda r, m: m["Subject"] == "[Hearth] Backup failed: blog.localhost")


def test_an_update_found_by_the_store_sync_is_announced_once_per_version(owner, domain, smtp_inbox):
    from apps_store.models import AvailableUpdate, Release, StoreApp

    store_app = StoreApp.objects.create(app_id="io.hearth.blog", title="Blog")
    releases = [
        Release.objects.create(store_app=store_app, version=v, manifest={}, image="x")
        for v in ("1.1.0", "1.2.0")
    ]
    app = AppInstance.objects.create(
        store_app_id="io.hearth.blog",
        title="Blog",
        version="1.0.0",
        manifest={},
        image="x",
        subdomain="blog",
        domain=domain,
        memory_limit=1,
    )
    for release in (releases[0], releases[0], releases[1]):
        AvailableUpdate.objects.update_or_create(app=app, defaults={"release": release})
    titles = list(
        Notification.objects.filter(kind="update_available").values_list("title", flat=True)
    )
    assert sorted(titles) == ["Update available: Blog 1.1.0", "Update available: Blog 1.2.0"]
    smtp_inbox.wait_for(lambda r, m: m["Subject"] == "[Hearth] Update available: Blog 1.2.0")
