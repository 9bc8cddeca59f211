"""The worker's side of backup and restore tasks.

Not run through panel.core.operations.execute_task: that one puts the app in `error` on any
failure, but a failed backup leaves the app untouched and running, and a failed restore that
put the previous state back leaves it running too. The bookkeeping helpers are shared.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from panel.backups.models import Backup, BackupTarget
from panel.backups.services import RestoreFailed, backup_app, restore_app
from panel.core.events import record_event
from panel.core.models import AppInstance, Event, Task
from panel.core.operations import (
    TaskCancelled,
    TaskProgress,
    _fail_app,
    _finish,
    finish_cancelled,
)
from panel.core.states import AppState
from panel.runtime.containers import get_runtime
from panel.runtime.spec import app_resource_names

log = logging.getLogger(__name__)


def execute_backup_task(task_id: int, worker: str = "") -> None:
    """Run one queued backup or restore task to its end; quiet if another worker has it."""
    claimed = Task.objects.filter(pk=task_id, state=Task.State.QUEUED).update(
        state=Task.State.RUNNING, started_at=timezone.now(), worker=worker
    )
    if not claimed:
        return
    task = Task.objects.select_related("app__domain").get(pk=task_id)
    app = task.app
    if app is None:
        _finish(task, Task.State.FAILED, error="the app no longer exists")
        return
    progress = TaskProgress(task)
    try:
        progress.step(2, f"{task.get_kind_display()} started")
        if task.kind == Task.Kind.BACKUP:
            message = _backup(task, app, progress)
        else:
            message = _restore(task, app, progress)
    except TaskCancelled:
        # Only a backup gets here (a restore is not cancellable): the app was never touched.
        finish_cancelled(task)
        record_event("cancelled", app=app, actor=task.requested_by, message=task.kind)
        return
    except Exception as exc:  # noqa: BLE001 - every failure ends the task with its reason
        reason = str(exc) or type(exc).__name__
        log.warning("task %s (%s %s) failed: %s", task.pk, task.kind, app, reason)
        _finish(task, Task.State.FAILED, error=reason)
        record_event(
            task.kind,
            app=app,
            outcome=Event.Outcome.FAILED,
            message=reason,
            actor=task.requested_by,
        )
        return
    _finish(task, Task.State.SUCCEEDED)
    record_event(task.kind, app=app, message=message, actor=task.requested_by)


def _backup(task: Task, app: AppInstance, progress: TaskProgress) -> str:
    target = BackupTarget.objects.get(pk=task.params["target"])
    backup = backup_app(app, target, task.params.get("reason", Backup.Reason.MANUAL), progress)
    return f"snapshot {backup.snapshot_id} in {target.name}"


def _restore(task: Task, app: AppInstance, progress: TaskProgress) -> str:
    backup = Backup.objects.select_related("target").get(pk=task.params["backup"])
    app.transition_to(AppState.RESTARTING)
    try:
        restore_app(app, backup, progress)
    except RestoreFailed as exc:
        # "Running as before" only if its container runs: a stopped app stays startable
        # from error, the one state after `restarting` that does not claim it runs.
        if exc.app_running and _container_running(app):
            app.transition_to(AppState.RUNNING)
        else:
            _fail_app(app, str(exc))
        raise
    except Exception as exc:
        _fail_app(app, str(exc) or type(exc).__name__)
        raise
    app.transition_to(AppState.RUNNING)
    return f"snapshot {backup.snapshot_id[:8]} of {backup.created_at:%Y-%m-%d %H:%M}"


def _container_running(app: AppInstance) -> bool:
    name = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    return get_runtime().container_status(name).status == "running"


def unpause_after_interrupted_backup(app: AppInstance) -> bool:
    """Unpause the app if a killed backup left it paused (manifest backup.pause); True if so."""
    name = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    runtime = get_runtime()
    if runtime.container_status(name).status != "paused":
        return False
    runtime.unpause_container(name)
    log.warning("unpaused %s, left paused by a backup the worker did not finish", app)
    return True


# Interrupted restores ------------------------------------------------------------------------
# The percent of restore_app's first step that touches the app ("Stopping the app and putting
# the backup's data in place"); before it, a restore only read the snapshot and backed up.
RESTORE_TOUCHES_APP_AT = 50


def recover_interrupted_restore(task: Task) -> None:
    """After the worker died in the middle of a restore (called when a worker starts).

    Before the restore touched the app, the app still runs on its own data: it stays
    `running`. After, its data may be half replaced: it goes to `error` with what to do (a
    new restore works from there) and which pre-restore backup holds the data from before.
    """
    import shutil
    from pathlib import Path

    from panel.core.models import AppStateChanged
    from panel.core.states import IllegalTransition

    app = task.app
    # What the killed restore was writing; the next one would clear it too, but it can be big.
    shutil.rmtree(Path(settings.HEARTH_HOME) / "backups" / "restore" / app.id.hex, True)
    if task.percent < RESTORE_TOUCHES_APP_AT:
        if _container_running(app):
            reason = (
                "the worker stopped before the restore changed anything; the app runs as "
                "before. Restore again to retry."
            )
            _finish(task, Task.State.FAILED, error=reason)
            try:
                app.transition_to(AppState.RUNNING)
            except (IllegalTransition, AppStateChanged):
                _fail_app(app, reason)
        else:
            # A stopped app was being restored: untouched, but `error` is the state from
            # which it can be started (or restored again).
            reason = (
                "the worker stopped before the restore changed anything; the app's data is as "
                "before. Start it, or restore again to retry."
            )
            _finish(task, Task.State.FAILED, error=reason)
            _fail_app(app, reason)
        record_event("restore", app=app, outcome=Event.Outcome.FAILED, message=reason)
        return
    safety = (
        Backup.objects.filter(app=app, reason=Backup.Reason.PRE_RESTORE)
        .filter(created_at__gte=task.started_at or task.created_at)
        .first()
    )
    reason = "the worker stopped while the restore was replacing the app's data; restore again"
    if safety is not None:
        reason += (
            f" (the pre-restore backup {safety.snapshot_id[:8]} of "
            f"{safety.created_at:%Y-%m-%d %H:%M} holds the data the app had before)"
        )
    _finish(task, Task.State.FAILED, error=reason)
    _fail_app(app, reason)
    record_event("restore", app=app, outcome=Event.Outcome.FAILED, message=reason)
