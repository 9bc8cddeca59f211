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
        "<job name>": '{"schedule": "<5-field cron>", "command": "<shell command>"}: '
        "one job, run as the app's user",
    }

    def provision(self, app: AppInstance, instance: AddonInstance) -> None:
        # The jobs are the addon's options; beat reads them from the row every minute.
        return None

    def teardown(self, app: AppInstance, instance: AddonInstance) -> None:
        return None


def run_job(app: AppInstance, job_name: str, command: str) -> int:
    """Run one job in the app's container as the app's user; its output joins the app's log.

    The output is captured here and written to the container's own stdout by a second exec as
    root (the app's user may not open the log pipe, which belongs to root).
    """
    container = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    wrapped = f"timeout {JOB_TIMEOUT_SECONDS} sh -c {shlex.quote(command)} 2>&1"
    code, output = get_runtime().exec_in_container(container, ["sh", "-c", wrapped])
    log_text = (
        f"[scheduler] job {job_name} started: {command}\n"
        f"{output}{'' if not output or output.endswith(chr(10)) else chr(10)}"
        f"[scheduler] job {job_name} exited with code {code}\n"
    )
    runtime_services.write_to_container_log(container, log_text)
    return code
