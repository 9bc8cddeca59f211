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


def run_job(app: AppInstance, job_name: str, command: str) -> int | None:
    """Run one job in the app's container as the app's user; its output joins the app's log.

    Usually the job writes straight into PID 1's stdout and runs detached, so a long job does
    not hold a Celery worker (returns None). When the image's user may not open that stream
    (PID 1 runs as another user), the output is captured here and written to the log after
    the job ends (returns the exit code).
    """
    container = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    quoted = shlex.quote(command)
    header = shlex.quote(f"[scheduler] job {job_name} started: {command}")
    footer = f'"[scheduler] job {job_name} exited with code $?"'
    job = f"echo {header}; timeout {JOB_TIMEOUT_SECONDS} sh -c {quoted}; echo {footer}"
    runtime = get_runtime()
    if runtime_services.can_write_container_log(container):
        runtime_services.exec_detached(container, ["sh", "-c", f"{{ {job}; }} >/proc/1/fd/1 2>&1"])
        return None
    code, output = runtime.exec_in_container(
        container, ["sh", "-c", f"timeout {JOB_TIMEOUT_SECONDS} sh -c {quoted} 2>&1"]
    )
    if output and not output.endswith("\n"):
        output += "\n"
    runtime_services.write_to_container_log(
        container,
        f"[scheduler] job {job_name} started: {command}\n{output}"
        f"[scheduler] job {job_name} exited with code {code}\n",
    )
    return code
