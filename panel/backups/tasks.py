from __future__ import annotations

from celery import shared_task

from panel.backups.operations import execute_backup_task


@shared_task(name="backups.run_task", bind=True)
def run_backup_task(self, task_id: int) -> None:
    execute_backup_task(task_id, worker=self.request.hostname or "")


@shared_task(name="backups.run_schedules")
def run_schedules_task() -> None:
    """Every minute (beat): start the scheduled backups and checks that are due."""
    from panel.backups.scheduled import run_due_schedules

    run_due_schedules()


@shared_task(name="backups.finish_scheduled_run", bind=True)
def finish_scheduled_run_task(
    self, target_id: int, task_ids: list[int], deadline: float, waiting: list[str] = ()
) -> None:
    """Retention after a scheduled run; asks again later while its backups still run."""
    from panel.backups.scheduled import RETENTION_POLL_SECONDS, finish_scheduled_run

    pending = finish_scheduled_run(target_id, task_ids, deadline, waiting)
    if pending is not None:
        task_ids, waiting = pending
        self.apply_async((target_id, task_ids, deadline, waiting), countdown=RETENTION_POLL_SECONDS)


@shared_task(name="backups.check_target", bind=True)
def check_target_task(self, target_id: int, attempt: int = 1) -> None:
    """`restic check` of a target; tried again later while a backup holds the repository."""
    from panel.backups.scheduled import CHECK_ATTEMPTS, CHECK_RETRY_SECONDS, run_target_check

    if run_target_check(target_id, may_defer=attempt < CHECK_ATTEMPTS) is None:
        self.apply_async((target_id, attempt + 1), countdown=CHECK_RETRY_SECONDS)
