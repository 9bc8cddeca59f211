from __future__ import annotations

from celery import shared_task

from panel.backups.operations import execute_backup_task


@shared_task(name="backups.run_task", bind=True)
def run_backup_task(self, task_id: int) -> None:
    execute_backup_task(task_id, worker=self.request.hostname or "")
