from __future__ import annotations

import logging

from celery.signals import worker_ready

log = logging.getLogger(__name__)


@worker_ready.connect
def fail_tasks_left_running(sender=None, **kwargs) -> None:
    from panel.core.operations import recover_interrupted_tasks

    count = recover_interrupted_tasks(sender.hostname)
    if count:
        log.warning("marked %d task(s) left running by a previous worker as failed", count)

    from panel.core.tasks import prepare_spare_networks_task

    prepare_spare_networks_task.delay()
