"""scheduler: cron jobs from the manifest, run by Celery beat inside the app's container."""

from __future__ import annotations

import shlex

from django.conf import settings

from addons.base import Addon
from addons.models import AddonInstance
from addons.registry import register
from panel.core.models import AppInstance
from panel.runtime import services as runtime_services
from panel.runtime.containers import get_runtime
from panel.runtime.spec import app_resource_names

# A job that runs longer is stopped, so a stuck job cannot pile up runs minute after minute.
JOB_TIMEOUT_SECONDS = 30 * 60
# What flock exits with when the job's previous run still holds the lock.
LOCKED_EXIT_CODE = 75


@register
class SchedulerAddon(Addon):
    name = "scheduler"
    description = (
        "Runs the manifest's cron jobs inside the app's container; output goes to its log."
    )
    options = {
        "<job name>": 'one job: "schedule" (5-field cron) and "command" (a shell command), '
        "run as the app's user",
    }

    def provision(self, app: AppInstance, instance: AddonInstance) -> None:
        # The jobs are the addon's options; beat reads them from the row every minute.
        return None

    def teardown(self, app: AppInstance, instance: AddonInstance) -> None:
        return None


def job_script(job_name: str, command: str) -> str:
    """The shell script that runs one job: at most one run of it at a time, bounded in time,
    its start, output and exit code written to standard output."""
    header = shlex.quote(f"[scheduler] job {job_name} started: {command}")
    footer = f'"[scheduler] job {job_name} exited with code $?"'
    run = (
        f"echo {header}; timeout {JOB_TIMEOUT_SECONDS} sh -c {shlex.quote(command)}; echo {footer}"
    )
    skipped = shlex.quote(f"[scheduler] job {job_name} skipped: its previous run is still going")
    # flock's lock lives in /run (a tmpfs of the container) and goes when the run ends.
    lock = f"/run/hearth-scheduler-{job_name}.lock"
    return (
        f"flock -n -E {LOCKED_EXIT_CODE} {lock} sh -c {shlex.quote(run)} 2>&1"
        f" || [ $? -ne {LOCKED_EXIT_CODE} ] || echo {skipped}"
    )


def run_job(app: AppInstance, job_name: str, command: str) -> int | None:
    """Run one job in the app's container as the app's user; its output joins the app's log.

    Usually the job writes straight into PID 1's stdout and runs detached, so a long job does
    not hold a Celery worker (returns None). When the image's user may not open that stream
    (PID 1 runs as another user), the output is captured here and written to the log after
    the job ends (returns the exit code).
    """
    container = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    script = job_script(job_name, command)
    if runtime_services.can_write_container_log(container):
        runtime_services.exec_detached(container, ["sh", "-c", f"{{ {script}; }} >/proc/1/fd/1"])
        return None
    code, output = get_runtime().exec_in_container(container, ["sh", "-c", script])
    if output and not output.endswith("\n"):
        output += "\n"
    runtime_services.write_to_container_log(container, output)
    return code
