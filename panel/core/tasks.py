from __future__ import annotations

from celery import shared_task

from panel.core.operations import execute_task


@shared_task(name="core.run_task", bind=True)
def run_task(self, task_id: int) -> None:
    execute_task(task_id, worker=self.request.hostname or "")


@shared_task(name="core.reconcile")
def reconcile() -> None:
    from panel.core.reconcile import reconcile_apps

    reconcile_apps()
