"""Scheduled backups, retention and integrity checks of the backup targets (Celery beat).

Every minute `run_due_schedules` looks at each target: when its backup schedule is due it
queues a "scheduled" backup task for every app with automatic backups on (apps busy with
another backup are queued once it ends, apps busy otherwise are skipped and named), and one
follow-up that applies the target's retention policy once those backups have finished; when
its check schedule is due it queues `restic check` (tried again later while a backup holds
the repository). A due minute is claimed with one conditional UPDATE, so two beat ticks (or
two beats) never run it twice.

Failures alert the admins: a failed scheduled backup through its "backup" event (see
panel.monitoring.signals), a failed check or retention here, with notify_admins.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from panel.backups.models import Backup, BackupTarget
from panel.backups.schedule import due_slot
from panel.backups.services import check_target, prune_app_backups, request_backup
from panel.core.events import record_event
from panel.core.models import AppInstance, Event, Task
from panel.core.services import ActionRejected, active_task
from panel.core.states import AppState

log = logging.getLogger(__name__)

# How long the retention follow-up waits for the run's backups before pruning anyway.
RETENTION_WAIT = timedelta(hours=6)
RETENTION_POLL_SECONDS = 15
# restic's words when another command holds the repository; a check waits and tries again.
REPOSITORY_LOCKED = "repository is already locked"
CHECK_RETRY_SECONDS, CHECK_ATTEMPTS = 300, 12


def _claim(target: BackupTarget, field: str, slot: datetime) -> bool:
    """Mark `slot` as started for this target; False when another tick already did."""
    previous = getattr(target, field)
    claimed = BackupTarget.objects.filter(pk=target.pk, **{field: previous}).update(**{field: slot})
    if claimed:
        setattr(target, field, slot)
    return bool(claimed)


def run_due_schedules(now: datetime | None = None) -> dict[str, list[str]]:
    """Start what is due on every target; returns the names of targets started, per kind."""
    from panel.backups.tasks import check_target_task

    now = now or timezone.now()
    started: dict[str, list[str]] = {"backups": [], "checks": []}
    for target in BackupTarget.objects.all():
        try:
            slot = due_slot(target.backup_schedule, now, target.scheduled_slot or target.created_at)
            if slot is not None and _claim(target, "scheduled_slot", slot):
                start_scheduled_backups(target)
                started["backups"].append(target.name)
            slot = due_slot(target.check_schedule, now, target.check_slot or target.created_at)
            if slot is not None and _claim(target, "check_slot", slot):
                BackupTarget.objects.filter(pk=target.pk).update(
                    check_status=BackupTarget.RunStatus.RUNNING
                )
                transaction.on_commit(lambda pk=target.pk: check_target_task.delay(pk))
                started["checks"].append(target.name)
        except Exception:  # noqa: BLE001 - a broken target must not stop the others
            log.exception("scheduled backups of target %s could not start", target)
    return started


def automatic_backup_apps():
    return AppInstance.objects.filter(
        automatic_backups=True, state__in=(AppState.RUNNING, AppState.STOPPED)
    ).select_related("domain")


def _queue_backups(target: BackupTarget, apps) -> tuple[list[Task], list[str], list[str]]:
    """Queue a scheduled backup of each app: (tasks, app ids to try again, skipped notes).

    An app busy with a backup (another target's run at the same minute) is tried again by
    the follow-up once that is done; an app busy otherwise (updating, restoring) is skipped.
    """
    tasks, waiting, skipped = [], [], []
    for app in apps:
        busy = active_task(app)
        if busy is not None and busy.kind == Task.Kind.BACKUP:
            waiting.append(str(app.pk))
            continue
        try:
            with transaction.atomic():
                tasks.append(request_backup(app, target, reason=Backup.Reason.SCHEDULED))
        except ActionRejected as exc:
            skipped.append(f"{app}: {' '.join(exc.errors.values())}")
    return tasks, waiting, skipped


def start_scheduled_backups(target: BackupTarget) -> list[Task]:
    """Queue a scheduled backup of each app with automatic backups on, then the retention."""
    from panel.backups.tasks import finish_scheduled_run_task

    tasks, waiting, skipped = _queue_backups(target, automatic_backup_apps())
    message = f"{len(tasks)} backup(s) queued"
    if waiting:
        message += f", {len(waiting)} after the backup they are busy with"
    if skipped:
        message += "; skipped " + "; ".join(skipped)
    BackupTarget.objects.filter(pk=target.pk).update(
        scheduled_status=BackupTarget.RunStatus.RUNNING, scheduled_message=message
    )
    deadline = (timezone.now() + RETENTION_WAIT).timestamp()
    task_ids = [task.pk for task in tasks]
    transaction.on_commit(
        lambda: finish_scheduled_run_task.apply_async(
            (target.pk, task_ids, deadline, waiting),
            countdown=RETENTION_POLL_SECONDS if task_ids or waiting else 0,
        )
    )
    return tasks


def finish_scheduled_run(
    target_id: int, task_ids: list[int], deadline: float, waiting: list[str] = ()
) -> tuple[list[int], list[str]] | None:
    """Once the run's backups are done, apply the retention policy to the apps backed up.

    While some backup of the run is still queued or running, or apps wait for another
    backup to finish (they are queued here as soon as they are free), returns the task ids
    and waiting apps to ask about again later; None once the run is finished. Nothing is
    pruned for an app whose backup failed, so a broken backup never costs an older good one.
    """
    target = BackupTarget.objects.filter(pk=target_id).first()
    if target is None:
        return None
    task_ids, waiting = list(task_ids), list(waiting)
    in_time = timezone.now().timestamp() < deadline
    if waiting and in_time:
        queued, waiting, skipped = _queue_backups(
            target, automatic_backup_apps().filter(pk__in=waiting)
        )
        task_ids += [task.pk for task in queued]
        if skipped:
            log.warning("scheduled backups to %s skipped: %s", target, "; ".join(skipped))
    tasks = list(Task.objects.filter(pk__in=task_ids).select_related("app"))
    if (waiting or any(task.is_active for task in tasks)) and in_time:
        return task_ids, waiting
    failed = [task for task in tasks if task.state != Task.State.SUCCEEDED]
    succeeded = [task for task in tasks if task.state == Task.State.SUCCEEDED and task.app]
    problems = [f"{task.app_label}: {task.error or task.state}" for task in failed]
    policy = target.retention
    removed = 0
    for task in succeeded:
        try:
            removed += prune_app_backups(
                task.app.id.hex,
                target,
                keep_daily=policy.keep_daily,
                keep_weekly=policy.keep_weekly,
                keep_monthly=policy.keep_monthly,
                keep_within=policy.keep_within,
            )
        except Exception as exc:  # noqa: BLE001 - reported below, the next run tries again
            reason = str(exc) or type(exc).__name__
            if REPOSITORY_LOCKED in reason and in_time:
                # A manual backup holds the repository: prune once it is done (pruning
                # the apps already done again removes nothing more).
                return task_ids, waiting
            problems.append(f"retention of {task.app_label}: {reason}")
            _alert(
                "backup_retention",
                f"Applying the retention policy of {target.name} failed",
                f"{task.app_label}: {reason}",
                app=task.app,
            )
    message = (
        f"{len(succeeded)} of {len(tasks)} app(s) backed up; {policy.describe()}: "
        f"{removed} old backup(s) removed"
    )
    if problems:
        message += ". Problems: " + "; ".join(problems)
    BackupTarget.objects.filter(pk=target.pk).update(
        scheduled_status=BackupTarget.RunStatus.FAILED if problems else BackupTarget.RunStatus.OK,
        scheduled_message=message,
        scheduled_finished_at=timezone.now(),
    )
    return None


def request_check(target: BackupTarget, user=None) -> None:
    """Queue `restic check` of the target now (the owner's "Check now")."""
    from panel.backups.tasks import check_target_task

    BackupTarget.objects.filter(pk=target.pk).update(check_status=BackupTarget.RunStatus.RUNNING)
    record_event(
        "backup_check_requested",
        actor=user,
        message=target.name,
        app_label=f"backup target {target.name}",
    )
    transaction.on_commit(lambda: check_target_task.delay(target.pk))


def run_target_check(target_id: int, *, may_defer: bool = False) -> str | None:
    """`restic check` the target's repository; record and alert on failure. '' when sound.

    The check needs the repository to itself. While a backup holds it, with `may_defer`
    nothing is recorded and None comes back (the caller tries again later): a busy
    repository is no integrity problem to alert anyone about.
    """
    target = BackupTarget.objects.filter(pk=target_id).first()
    if target is None:
        return ""
    problem = check_target(target)
    if may_defer and REPOSITORY_LOCKED in problem:
        return None
    BackupTarget.objects.filter(pk=target.pk).update(
        check_status=BackupTarget.RunStatus.FAILED if problem else BackupTarget.RunStatus.OK,
        check_message=problem or "No errors found.",
        checked_at=timezone.now(),
    )
    if problem:
        _alert(
            "backup_check",
            f"Integrity check of backup target {target.name} failed",
            f"restic check of {target.location}: {problem}",
            label=f"backup target {target.name}",
        )
    else:
        record_event(
            "backup_check",
            message=f"{target.name}: no errors found",
            app_label=f"backup target {target.name}",
        )
    return problem


def _alert(action: str, title: str, message: str, *, app=None, label: str = "") -> None:
    from panel.monitoring.models import Notification
    from panel.monitoring.notifications import notify_admins

    record_event(action, app=app, outcome=Event.Outcome.FAILED, message=message, app_label=label)
    notify_admins(f"{action}_failed", title, message, app=app, level=Notification.Level.CRITICAL)
