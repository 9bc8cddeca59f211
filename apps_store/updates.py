"""Which installed apps have a newer release in the catalog ("update available")."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import semver
from django.db import transaction
from django.utils import timezone

from apps_store.models import AvailableUpdate, Release, UpdateWindowSetting
from apps_store.services import release_sort_key
from panel.core.models import AppInstance, Task
from panel.core.states import AppState

log = logging.getLogger(__name__)
ACTIVE_STATES = (Task.State.QUEUED, Task.State.RUNNING)


def _sort_key_or_none(version: str) -> str | None:
    try:
        return release_sort_key(version)
    except ValueError:
        return None


@transaction.atomic
def check_for_updates() -> list[AvailableUpdate]:
    """Record, for every installed app, the newest release above its version (or none).

    Two queries to read, whatever the number of apps: the newest release per store app is
    picked in Python from one ordered list.
    """
    store_app_ids = set(AppInstance.objects.values_list("store_app_id", flat=True))
    newest: dict[str, Release] = {}
    releases = (
        Release.objects.filter(store_app__app_id__in=store_app_ids)
        .select_related("store_app")
        .order_by("-sort_key")
    )
    for release in releases:
        if semver.Version.parse(release.version).prerelease:
            continue  # a pre-release is offered on purpose only, never as "update available"
        newest.setdefault(release.store_app.app_id, release)
    found = []
    stale = []
    for app in AppInstance.objects.all():
        release = newest.get(app.store_app_id)
        current = _sort_key_or_none(app.version)
        if release is not None and current is not None and release.sort_key > current:
            update, _ = AvailableUpdate.objects.update_or_create(
                app=app, defaults={"release": release}
            )
            found.append(update)
        else:
            stale.append(app.pk)
    AvailableUpdate.objects.filter(app_id__in=stale).delete()
    return found


def _addon_names(manifest: dict) -> set[str]:
    return set(manifest.get("addons") or {})


def recreate_reason(old_manifest: dict, new_manifest: dict) -> str:
    """Why an update must stop the old version before starting the new one ("" when the
    two can run side by side for a moment, which is what a rolling update needs)."""
    for manifest in (old_manifest, new_manifest):
        if manifest.get("updateStrategy") == "recreate":
            return f'{manifest.get("version", "a version")} asks for updateStrategy "recreate"'
    dropped = sorted(_addon_names(old_manifest) - _addon_names(new_manifest))
    if dropped:
        return (
            f"the new version drops the {', '.join(dropped)} addon(s), "
            "which the running one still uses"
        )
    return ""


def _port_names(manifest: dict) -> set[str]:
    return set(manifest.get("tcpPorts") or {}) | set(manifest.get("udpPorts") or {})


def confirmation_reason(old_manifest: dict, new_manifest: dict) -> str:
    """Why an update must wait for the owner ("" when it may be applied automatically): a
    new addon or port is a change of what the app uses on this server, not just a new build."""
    parts = []
    addons = sorted(_addon_names(new_manifest) - _addon_names(old_manifest))
    if addons:
        parts.append(f"the new addon(s) {', '.join(addons)}")
    ports = sorted(_port_names(new_manifest) - _port_names(old_manifest))
    if ports:
        parts.append(f"the new port(s) {', '.join(ports)}")
    return f"it needs {' and '.join(parts)}" if parts else ""


@dataclass
class AutoUpdateRun:
    """What one automatic-update run did: at most one update queued."""

    queued: Task | None = None
    held_for_confirmation: list[str] = field(default_factory=list)
    skipped: str = ""


def apply_auto_updates(now: datetime | None = None) -> AutoUpdateRun:
    """Beat: inside the update window, queue the update of one app that has auto-update on,
    is running and idle, and whose new version needs nothing the owner must confirm.

    One app per run, and none while another update is under way: a bad release then breaks
    (and rolls back) one app at a time. Updates that need confirmation are announced once.
    """
    from panel.core.services import ActionRejected, update_app

    run = AutoUpdateRun()
    window = UpdateWindowSetting.current().window()
    if not window.is_open(now or timezone.now()):
        run.skipped = f"outside the update window ({window.describe()})"
        return run
    if Task.objects.filter(kind=Task.Kind.UPDATE, state__in=ACTIVE_STATES).exists():
        run.skipped = "another update is under way"
        return run
    # No NULL in the list: `NOT IN (..., NULL)` would exclude every app.
    busy_apps = Task.objects.filter(state__in=ACTIVE_STATES, app__isnull=False).values("app_id")
    offers = (
        AvailableUpdate.objects.filter(app__auto_update=True, app__state=AppState.RUNNING)
        .exclude(app_id__in=busy_apps)
        .select_related("app__domain", "release__store_app", "confirmation_asked_for")
        .order_by("found_at", "app__created_at")
    )
    for offer in offers:
        app, release = offer.app, offer.release
        reason = confirmation_reason(app.manifest, release.manifest)
        if reason:
            run.held_for_confirmation.append(str(app))
            _ask_for_confirmation(offer, reason)
        elif run.queued is None:
            try:
                run.queued = update_app(app, release)
            except ActionRejected as exc:
                log.warning("automatic update of %s to %s refused: %s", app, release.version, exc)
    return run


def _ask_for_confirmation(offer: AvailableUpdate, reason: str) -> None:
    from panel.monitoring.models import Notification
    from panel.monitoring.notifications import notify_admins

    if offer.confirmation_asked_for_id == offer.release_id:
        return
    app = offer.app
    notify_admins(
        "update_needs_confirmation",
        f"{app.title} {offer.release.version} waits for you",
        f"The update of {app} from {app.version} to {offer.release.version} was not applied "
        f"automatically: {reason}. Review it and update from the app's page.",
        app=app,
        level=Notification.Level.INFO,
    )
    AvailableUpdate.objects.filter(pk=offer.pk).update(confirmation_asked_for=offer.release)


def save_update_window(
    days: list[int], start_hour: int, end_hour: int, timezone_name: str, user=None
) -> UpdateWindowSetting:
    """Check and store the update window; WindowError (by field) leaves the old one as it was."""
    from apps_store.update_window import make_window
    from panel.core.events import record_event

    window = make_window(days, start_hour, end_hour, timezone_name)
    setting = UpdateWindowSetting.current()
    setting.days = sorted(window.days)
    setting.start_hour, setting.end_hour = window.start_hour, window.end_hour
    setting.timezone = window.timezone
    setting.save()
    record_event("update_window_changed", actor=user, message=window.describe())
    return setting


def set_auto_update(app: AppInstance, enabled: bool, user=None) -> None:
    from panel.core.events import record_event

    AppInstance.objects.filter(pk=app.pk).update(auto_update=enabled)
    app.auto_update = enabled
    record_event(
        "auto_update_on" if enabled else "auto_update_off",
        app=app,
        actor=user if user is not None and user.is_authenticated else None,
    )
