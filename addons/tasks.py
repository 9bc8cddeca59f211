"""Celery tasks of the addons: the scheduler's minute tick and its job runs."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from addons.models import AddonInstance
from addons.scheduler.addon import SchedulerAddon, run_job
from addons.scheduler.schedule import due_jobs, minute_key
from panel.core.states import AppState

log = logging.getLogger(__name__)


@shared_task(name="addons.run_due_scheduler_jobs")
def run_due_scheduler_jobs() -> int:
    """Enqueue every scheduler job due this minute, for running apps. Returns how many."""
    now = timezone.now().replace(second=0, microsecond=0)
    count = 0
    instances = AddonInstance.objects.filter(
        addon=SchedulerAddon.name,
        state=AddonInstance.State.READY,
        app__state=AppState.RUNNING,
    ).values_list("pk", flat=True)
    for pk in instances:
        with transaction.atomic():
            instance = AddonInstance.objects.select_for_update().get(pk=pk)
            last_runs = instance.status.get("last_runs", {})
            due = due_jobs(instance.options, now, last_runs)
            for name in due:
                last_runs[name] = minute_key(now)
            instance.status["last_runs"] = last_runs
            instance.save(update_fields=["status", "updated_at"])
        for name in due:
            run_scheduler_job.delay(pk, name)
            count += 1
    return count


@shared_task(name="addons.run_scheduler_job")
def run_scheduler_job(instance_id: int, job_name: str) -> None:
    instance = AddonInstance.objects.select_related("app").filter(pk=instance_id).first()
    if instance is None or job_name not in instance.options:
        return
    job = instance.options[job_name]
    code = run_job(instance.app, job_name, job["command"])
    if code is not None:
        log.info("scheduler job %s of %s exited with %s", job_name, instance.app, code)
