"""Monitoring work done by beat and by the pages: the health sweep and the System page."""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from panel.core.events import record_event
from panel.core.models import AppInstance, Event
from panel.core.push import push_to_groups
from panel.core.states import AppState
from panel.monitoring import health
from panel.monitoring.models import HealthRecord, Notification
from panel.monitoring.notifications import notify_admins
from panel.runtime.containers import ContainerStatus, RuntimeFailure, get_runtime
from panel.runtime.health import probe
from panel.runtime.spec import app_resource_names

log = logging.getLogger(__name__)

# Deaths and OOM kills are counted over this many seconds before each check.
HEALTH_WINDOW = 600


def check_all_apps_health(now: float | None = None) -> dict[str, str]:
    """Judge every app that should be running; returns {app id hex: status}.

    Only a change of verdict writes an event and notifies: an app that stays down is one
    alert, not one a minute.
    """
    runtime = get_runtime()
    now = now or time.time()
    apps = list(AppInstance.objects.filter(state=AppState.RUNNING).select_related("domain"))
    if not apps:
        return {}
    # One events query for all apps: Docker keeps the recent ones, across restarts.
    events = runtime.container_events(now - HEALTH_WINDOW, now, ["die", "oom"])
    # Counted per container, not per app: the container an update or a recreate retired
    # died once on purpose, and a rolling update's failed trial container is not the app.
    deaths: dict[str, int] = {}
    ooms: dict[str, int] = {}
    for event in events:
        container_id = event.get("Actor", {}).get("ID") or event.get("id", "")
        counts = ooms if event.get("Action") == "oom" else deaths
        counts[container_id] = counts.get(container_id, 0) + 1
    # Docker calls and health probes side by side (a hung app costs its probe's timeout, not
    # everyone's); the verdicts are then written one by one.
    with ThreadPoolExecutor(max_workers=8) as pool:
        looks = list(pool.map(look_at_app, apps))
    verdicts = {}
    for app, look in zip(apps, looks, strict=True):
        current = look[0].id
        verdict = check_app_health(
            app, deaths=deaths.get(current, 0), oom_events=ooms.get(current, 0), look=look
        )
        verdicts[app.id.hex] = verdict.status
    return verdicts


def look_at_app(app: AppInstance) -> tuple[ContainerStatus, int | None, float | None]:
    """What Docker says of the app's container, its health check's HTTP status (None when
    nothing answered) and when the container was made. No database access."""
    runtime = get_runtime()
    names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
    status = runtime.container_status(names.container)
    probe_status = None
    if status.running:
        try:
            address = runtime.container_address(names.container, names.network)
        except RuntimeFailure:
            address = ""
        if address:
            probe_status = probe(address, app.manifest.get("httpPort", 80), _path(app))
    return status, probe_status, runtime.container_created(names.container)


def check_app_health(
    app: AppInstance,
    *,
    deaths: int,
    oom_events: int,
    look: tuple[ContainerStatus, int | None, float | None] | None = None,
) -> health.Verdict:
    status, probe_status, created = look or look_at_app(app)
    record, _ = HealthRecord.objects.get_or_create(app=app)
    seen = health.Observation(
        exists=status.exists,
        running=status.running,
        docker_status=status.status,
        oom_killed=status.oom_killed,
        oom_events=oom_events,
        deaths=deaths,
        recent_restarts=_recent_restarts(record, status.restart_count, created),
        probe_status=probe_status,
    )
    verdict = health.judge_health(seen, _path(app))
    changed = verdict.status != record.status
    now = timezone.now()
    record.status = verdict.status
    record.detail = verdict.detail
    record.restart_count = status.restart_count
    record.checked_at = now
    if changed:
        record.changed_at = now
    record.save()
    if app.health != verdict.status:
        AppInstance.objects.filter(pk=app.pk).update(health=verdict.status)
        app.health = verdict.status
    if changed:
        _announce(app, verdict)
    return verdict


def _recent_restarts(record: HealthRecord, restarts: int, created: float | None) -> int:
    """Restarts in the last 10 to 20 minutes, from Docker's restart counter.

    Docker's event history is a short buffer shared by the whole host, which a busy host
    overwrites within minutes; the counter is the dependable witness of a loop. Two readings
    are kept, one and two windows old, so the count never drops to zero at a window's edge.
    Before an app's first sweep its restarts count only if the container is younger than
    the window (then every one of them happened inside it).
    """
    now = timezone.now()
    if record.rolled_at is None:
        young = created is not None and time.time() - created < HEALTH_WINDOW
        record.base_restart_count = record.mid_restart_count = 0 if young else restarts
        record.rolled_at = now
    elif (now - record.rolled_at).total_seconds() > HEALTH_WINDOW:
        record.base_restart_count = record.mid_restart_count
        record.mid_restart_count = restarts
        record.rolled_at = now
    if restarts < record.base_restart_count:  # the container was re-created: counter reset
        record.base_restart_count = record.mid_restart_count = 0
    return restarts - record.base_restart_count


def _path(app: AppInstance) -> str:
    return app.manifest.get("healthCheckPath", "/")


def _announce(app: AppInstance, verdict: health.Verdict) -> None:
    push_to_groups(
        [f"app-{app.id.hex}"],
        {"type": "health.update", "health": verdict.status, "detail": verdict.detail},
    )
    push_to_groups(["apps-changed"], {"type": "apps.changed", "app": app.id.hex})
    if verdict.status == health.HEALTHY:
        previous_bad = Event.objects.filter(
            app=app, action="health", outcome=Event.Outcome.FAILED
        ).exists()
        if previous_bad:
            record_event("health", app=app, outcome=Event.Outcome.OK, message=verdict.detail)
            notify_admins(
                "app_recovered",
                f"{app.title} is healthy again",
                verdict.detail,
                app=app,
                level=Notification.Level.INFO,
            )
        return
    record_event("health", app=app, outcome=Event.Outcome.FAILED, message=verdict.detail)
    notify_admins(
        f"app_{verdict.status}",
        health.ALERT_TITLES[verdict.status].format(title=app.title),
        verdict.detail,
        app=app,
        level=Notification.Level.CRITICAL,
    )


def notify_task_failed(task, app: AppInstance | None, reason: str) -> None:
    """Called by the worker when a task fails: the owner hears of it without watching."""
    label = str(app) if app is not None else task.app_label
    notify_admins(
        f"task_{task.kind}_failed",
        f"{task.get_kind_display()} of {label} failed",
        reason,
        app=app,
        level=Notification.Level.CRITICAL,
    )


# Alert when the disk holding Docker's data and Hearth's is this full.
DISK_ALERT_PERCENT = 90.0


def check_disk_space(path: str = "/", threshold: float = DISK_ALERT_PERCENT) -> float:
    """Percent used of the filesystem at `path`; above `threshold`, admins are told once a day."""
    stats = os.statvfs(path)
    used = (stats.f_blocks - stats.f_bfree) * stats.f_frsize
    # Like df: the blocks reserved for root do not count as free for everyone else.
    percent = 100.0 * used / max(1, used + stats.f_bavail * stats.f_frsize)
    if percent < threshold:
        return percent
    recent = timezone.now() - timedelta(days=1)
    if not Notification.objects.filter(kind="disk_nearly_full", created_at__gte=recent).exists():
        free = stats.f_bavail * stats.f_frsize
        record_event("disk", outcome=Event.Outcome.FAILED, message=f"{path} is {percent:.0f}% full")
        notify_admins(
            "disk_nearly_full",
            f"The disk is {percent:.0f}% full",
            f"{free / 2**30:.1f} GiB left on {path}. Remove unused images on the System page,"
            " or apps and backups you no longer need.",
            level=Notification.Level.CRITICAL,
        )
    return percent


# Files an app writes to the paths its manifest lists as logs are cut above this size.
APP_LOG_FILE_MAX_BYTES = 10 * 1024 * 1024


def rotate_app_log_files(max_bytes: int = APP_LOG_FILE_MAX_BYTES) -> dict[str, str]:
    """Copy-and-truncate the big files of every running app's logPaths; {app: what was cut}."""
    runtime = get_runtime()
    rotated = {}
    for app in AppInstance.objects.filter(state=AppState.RUNNING):
        paths = [path for path in app.manifest.get("logPaths", []) if isinstance(path, str)]
        if not paths:
            continue
        names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
        try:
            cut = runtime.rotate_files_in(names.container, paths, max_bytes)
        except RuntimeFailure:
            continue
        if cut.strip():
            rotated[app.id.hex] = cut.strip()
    return rotated
