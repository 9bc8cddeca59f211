"""Automatic updates: the beat task queues exactly the updates it may (inside the window, one
app at a time, never a busy or stopped app, never one that needs new addons or ports), and
the switch and the window are edited by form POSTs with clear errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils.html import escape

from apps_store.manifest import validate_manifest
from apps_store.models import AvailableUpdate, UpdateWindowSetting
from apps_store.services import record_release
from apps_store.updates import apply_auto_updates, confirmation_reason, save_update_window
from panel.core.models import AppInstance, Task
from panel.core.states import AppState
from panel.monitoring.models import Notification

pytestmark = pytest.mark.django_db

MONDAY_3AM = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def release_of(built_packages):
    """A signed release of the static site at `version` (its real, pushed image)."""
    folder, manifest, tag, digest = built_packages["staticsite"]

    def _release(version: str, **changes):
        changed = validate_manifest({**manifest.data, "version": version, **changes})
        return record_release(folder, changed, tag, digest)

    return _release


@pytest.fixture
def site_app(make_app, built_packages):
    _, manifest, _, _ = built_packages["staticsite"]

    def _make(subdomain: str, **fields):
        return make_app(subdomain, manifest=manifest.data, **fields)

    return _make


def offer(app: AppInstance, release) -> AvailableUpdate:
    return AvailableUpdate.objects.create(app=app, release=release)


@pytest.fixture
def window(db):
    return save_update_window([0], 2, 5, "UTC")  # Mondays 02:00-05:00 UTC


def run(now=MONDAY_3AM, django_capture_on_commit_callbacks=None):
    with django_capture_on_commit_callbacks(execute=False):
        return apply_auto_updates(now)


def test_the_beat_task_queues_exactly_the_updates_it_may(
    window, site_app, release_of, owner, django_capture_on_commit_callbacks
):
    newer = release_of("1.0.1")
    needs_redis = release_of("1.1.0", addons={"localstorage": {}, "redis": {}})
    first = site_app("first")
    second = site_app("second")
    switched_off = site_app("off", auto_update=False)
    stopped = site_app("stopped", state=AppState.STOPPED)
    busy = site_app("busy")
    Task.objects.create(kind=Task.Kind.BACKUP, app=busy, state=Task.State.RUNNING)
    confirm = site_app("confirm")
    for app in (first, second, switched_off, stopped, busy):
        offer(app, newer)
    offer(confirm, needs_redis)

    def go(now=MONDAY_3AM):
        return run(now, django_capture_on_commit_callbacks)

    # Outside the window: nothing at all.
    assert go(MONDAY_NOON).skipped.startswith("outside the update window")
    assert not Task.objects.filter(kind=Task.Kind.UPDATE).exists()

    # Inside: one update, of the first eligible app; the one needing redis is announced.
    result = go()
    assert result.queued is not None
    queued = [(t.app_id, t.params["release"]) for t in Task.objects.filter(kind="update")]
    assert queued == [(first.pk, newer.pk)]
    assert result.held_for_confirmation == [str(confirm)]
    notes = Notification.objects.filter(kind="update_needs_confirmation", app=confirm)
    assert notes.count() == 1
    assert "the new addon(s) redis" in notes.get().message

    # One app at a time: nothing more while that update is under way.
    assert go().skipped == "another update is under way"
    Task.objects.filter(app=first).update(state=Task.State.SUCCEEDED)
    AppInstance.objects.filter(pk=first.pk).update(state=AppState.RUNNING, version="1.0.1")
    AvailableUpdate.objects.filter(app=first).delete()

    # Next run: the second app; the held one is not announced twice.
    go()
    queued = Task.objects.filter(kind=Task.Kind.UPDATE).values_list("app", flat=True)
    assert sorted(queued, key=str) == sorted([first.pk, second.pk], key=str)
    assert notes.count() == 1
    Task.objects.filter(app=second).update(state=Task.State.SUCCEEDED)
    AvailableUpdate.objects.filter(app=second).delete()

    # Nothing else is eligible: switched off, stopped, busy, or waiting for the owner.
    result = go()
    assert result.queued is None
    assert not Task.objects.filter(
        kind=Task.Kind.UPDATE, app__in=[switched_off, stopped, busy, confirm]
    ).exists()


def test_new_addons_or_ports_need_the_owners_confirmation():
    old = {"addons": {"localstorage": {}}, "tcpPorts": {"SSH_PORT": {"defaultValue": 2222}}}
    assert confirmation_reason(old, {**old, "version": "2.0.0"}) == ""
    # Dropping something needs no confirmation (the update moves it aside for a rollback).
    assert confirmation_reason(old, {"addons": {}}) == ""
    both = {
        "addons": {"localstorage": {}, "mysql": {}},
        "tcpPorts": {"SSH_PORT": {}},
        "udpPorts": {"DNS_PORT": {}},
    }
    assert (
        confirmation_reason(old, both)
        == "it needs the new addon(s) mysql and the new port(s) DNS_PORT"
    )


# Views ---------------------------------------------------------------------------------------
def test_the_app_page_shows_the_switch_and_a_post_turns_it_off_and_on(owner_client, make_app):
    app = make_app("page")
    page = owner_client.get(reverse("core:app_detail", args=[app.pk])).content.decode()
    assert "Automatic updates: <strong>on</strong>" in page
    assert "Turn automatic updates off" in page
    url = reverse("apps_store:auto_update", args=[app.pk])
    response = owner_client.post(url, {"auto_update": "off"})
    assert response.status_code == 302
    assert response["Location"] == reverse("core:app_detail", args=[app.pk])
    app.refresh_from_db()
    assert app.auto_update is False
    page = owner_client.get(response["Location"]).content.decode()
    assert "Automatic updates: <strong>off</strong>" in page
    owner_client.post(url, {"auto_update": "on"})
    app.refresh_from_db()
    assert app.auto_update is True


def test_the_switch_refuses_a_value_other_than_on_or_off(owner_client, make_app):
    app = make_app("bad")
    response = owner_client.post(
        reverse("apps_store:auto_update", args=[app.pk]), {"auto_update": "yes please"}, follow=True
    )
    assert escape('auto_update: send "on" or "off".') in response.content.decode()
    app.refresh_from_db()
    assert app.auto_update is True


def test_outsiders_cannot_switch_an_apps_updates_and_get_is_refused(
    outsider, owner_client, make_app
):
    from django.test import Client

    app = make_app("guarded")
    url = reverse("apps_store:auto_update", args=[app.pk])
    stranger = Client()
    stranger.force_login(outsider)
    assert stranger.post(url, {"auto_update": "off"}).status_code == 403
    assert owner_client.get(url).status_code == 405
    app.refresh_from_db()
    assert app.auto_update is True


def test_the_window_form_saves_and_shows_the_window(owner_client):
    response = owner_client.post(
        reverse("apps_store:update_window"),
        {"days": ["5", "6"], "start_hour": "22", "end_hour": "3", "timezone": "Europe/Paris"},
    )
    assert response.status_code == 302
    setting = UpdateWindowSetting.current()
    assert (setting.days, setting.start_hour, setting.end_hour, setting.timezone) == (
        [5, 6],
        22,
        3,
        "Europe/Paris",
    )
    page = owner_client.get(reverse("apps_store:updates")).content.decode()
    assert "22:00–03:00 starting on Saturday, Sunday (Europe/Paris)" in page


def test_the_window_form_names_the_bad_field_and_keeps_the_old_window(owner_client):
    before = UpdateWindowSetting.current()
    response = owner_client.post(
        reverse("apps_store:update_window"),
        {"days": ["0"], "start_hour": "2", "end_hour": "5", "timezone": "Mars/Olympus"},
    )
    assert response.status_code == 400
    assert "is not a known time zone; use a name such as UTC or Europe/Paris." in (
        response.content.decode()
    )
    response = owner_client.post(
        reverse("apps_store:update_window"),
        {"days": ["0"], "start_hour": "25", "end_hour": "5", "timezone": "UTC"},
    )
    assert response.status_code == 400
    after = UpdateWindowSetting.current()
    assert (after.days, after.start_hour, after.timezone) == (
        before.days,
        before.start_hour,
        before.timezone,
    )


def test_the_updates_page_lists_offers_and_what_waits_for_the_owner(
    owner_client, site_app, release_of
):
    app = site_app("listed")
    offer(app, release_of("1.2.0", addons={"localstorage": {}, "redis": {}}))
    page = owner_client.get(reverse("apps_store:updates")).content.decode()
    assert "1.2.0" in page
    assert "waits for you: it needs the new addon(s) redis" in page
