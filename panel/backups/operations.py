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
from panel.core.operations import TaskProgress, _fail_app, _finish
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
    progress.step(2, f"{task.get_kind_display()} started")
    try:
        if task.kind == Task.Kind.BACKUP:
            message = _backup(task, app, progress)
        else:
            message = _restore(task, app, progress)
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
