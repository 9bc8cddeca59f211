from __future__ import annotations

from celery import shared_task

from panel.core.models import Task
from panel.core.operations import execute_task
from panel.core.spare_networks import prepare_spare_networks


@shared_task(name="core.run_task", bind=True)
def run_task(self, task_id: int) -> None:
    execute_task(task_id, worker=self.request.hostname or "")
    # Each install (clones and imports too) took a spare network; make the next one now.
    creating = [Task.Kind.INSTALL, Task.Kind.CLONE, Task.Kind.IMPORT]
    if Task.objects.filter(pk=task_id, kind__in=creating).exists():
        prepare_spare_networks_task.delay()


@shared_task(name="core.prepare_spare_networks")
def prepare_spare_networks_task() -> None:
    prepare_spare_networks()


@shared_task(name="core.reconcile")
def reconcile() -> None:
    from panel.core.reconcile import reconcile_apps

    reconcile_apps()
