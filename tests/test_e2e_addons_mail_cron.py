"""The sendmail and scheduler addons end to end: a mail sent from inside an app container
arrives through the host relay, and a manifest cron job runs in the container and logs there."""

from __future__ import annotations

import mailbox
import time

import pytest
from django.conf import settings

from addons.tasks import run_due_scheduler_jobs, run_scheduler_job
from panel.core.models import Task
from panel.core.services import install_app, request_app_action
from panel.runtime import services as runtime_services
from panel.runtime.spec import app_resource_names
from tests.conftest import wait_for_task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# A whole SMTP conversation in bash (the base image has no mail client), reading each reply.
SMTP_SCRIPT = r"""
set -u
exec 3<>/dev/tcp/$HEARTH_MAIL_SMTP_SERVER/$HEARTH_MAIL_SMTP_PORT
say() { printf '%s\r\n' "$1" >&3; }
expect() {
  while IFS= read -r -t 10 line <&3; do
    echo "$line"
    case "$line" in "$1 "*) return 0 ;; "$1-"*) ;; *) return 1 ;; esac
  done
  return 1
}
expect 220
say "EHLO probe"; expect 250
auth=$(printf '\0%s\0%s' "$HEARTH_MAIL_SMTP_USERNAME" "$HEARTH_MAIL_SMTP_PASSWORD" | base64 -w0)
say "AUTH PLAIN $auth"; expect 235 || exit 11
say "MAIL FROM:<$FROM>"; expect 250 || exit 12
say "RCPT TO:<owner@example.com>"; expect 250 || exit 13
say "DATA"; expect 354 || exit 14
say "From: $FROM"; say "To: owner@example.com"; say "Subject: $SUBJECT"; say ""
say "Sent from inside the app container."; say "."
expect 250 || exit 15
say "QUIT"
"""


def _install_probe(publish_addon_package, domain, subdomain):
    app = install_app(
        release=publish_addon_package("addonprobe"), subdomain=subdomain, domain=domain
    )
    task = wait_for_task(app.tasks.get().pk, timeout=180)
    app.refresh_from_db()
    assert task.state == Task.State.SUCCEEDED, task.error
    return app


def _send(docker_runtime, app, subject: str, mail_from: str | None = None) -> tuple[int, str]:
    container = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    from_ = mail_from or "$HEARTH_MAIL_FROM"
    return docker_runtime.exec_in_container(
        container,
        ["bash", "-c", f'FROM="{from_}"; SUBJECT="{subject}"; {SMTP_SCRIPT}'],
    )


def test_a_mail_sent_from_inside_an_app_container_is_delivered_to_the_outbox(
    worker, addon_services, mail_relay, publish_addon_package, domain, docker_runtime
):
    app = _install_probe(publish_addon_package, domain, "mailer")
    code, output = _send(docker_runtime, app, "hello from mailer")
    assert code == 0, output
    messages = list(mailbox.Maildir(mail_relay, create=False))
    delivered = [m for m in messages if m["Subject"] == "hello from mailer"]
    assert len(delivered) == 1
    assert delivered[0]["X-Hearth-App"] == str(app)
    assert delivered[0]["X-Hearth-Envelope-To"] == "owner@example.com"
    assert "Sent from inside the app container." in delivered[0].get_payload()

    # An app may not send as someone else.
    code, output = _send(docker_runtime, app, "forged", mail_from="owner@localhost")
    assert code == 12, output
    assert "553" in output
    assert not [m for m in mailbox.Maildir(mail_relay) if m["Subject"] == "forged"]
    wait_for_task(request_app_action(app, "uninstall").pk)


def test_the_relay_refuses_a_login_once_the_app_is_uninstalled(
    worker, addon_services, mail_relay, publish_addon_package, domain, docker_runtime
):
    first = _install_probe(publish_addon_package, domain, "gone")
    other = _install_probe(publish_addon_package, domain, "stays")
    gone_env = first.addons.get(addon="sendmail").credentials
    wait_for_task(request_app_action(first, "uninstall").pk)
    container = app_resource_names(settings.HEARTH_INSTANCE, other.id.hex).container
    code, output = docker_runtime.exec_in_container(
        container,
        [
            "bash",
            "-c",
            f'HEARTH_MAIL_SMTP_USERNAME="{gone_env["username"]}" '
            f'HEARTH_MAIL_SMTP_PASSWORD="{gone_env["password"]}" '
            f'FROM="{gone_env["username"]}"; SUBJECT="ghost"; {SMTP_SCRIPT}',
        ],
    )
    assert code == 11, output
    wait_for_task(request_app_action(other, "uninstall").pk)


def test_a_scheduler_job_runs_inside_the_container_and_its_output_is_in_the_app_log(
    worker, addon_services, publish_addon_package, domain, docker_runtime
):
    app = _install_probe(publish_addon_package, domain, "cron")
    container = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    assert run_due_scheduler_jobs() >= 1  # "* * * * *" is due in every minute

    deadline = time.monotonic() + 60
    logs = ""
    while time.monotonic() < deadline and "job tick exited with code 0" not in logs:
        time.sleep(0.3)
        logs = docker_runtime.container_logs(container)
    assert "[scheduler] job tick started" in logs
    assert "tick from cron.localhost" in logs
    assert "[scheduler] job tick exited with code 0" in logs
    code, output = docker_runtime.exec_in_container(
        container, ["stat", "-c", "%U", "/app/data/ticks"]
    )
    assert (code, output.strip()) == (0, "hearth")  # ran as the app's user, not root

    # A job still running when it is due again is skipped, not run twice side by side.
    scheduler = app.addons.get(addon="scheduler")
    run_scheduler_job(scheduler.pk, "slow")
    run_scheduler_job(scheduler.pk, "slow")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "slow done" not in logs:
        time.sleep(0.3)
        logs = docker_runtime.container_logs(container)
    assert logs.count("[scheduler] job slow started") == 1
    assert "[scheduler] job slow skipped: its previous run is still going" in logs
    assert "slow done" in logs

    # The fallback for images whose PID 1 runs as another user: write the captured output.
    runtime_services.write_to_container_log(container, "captured job output\n")
    assert "captured job output" in docker_runtime.container_logs(container)
    wait_for_task(request_app_action(app, "uninstall").pk)
