"""Scheduled backups, pausing and configuration through the real worker, Docker and restic:
beat's task backs up the apps and applies retention after; an app whose manifest asks is
paused while its data is copied and running after (also when the copy fails); a restore puts
the backed-up env overrides back into the app's container."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from panel.backups.models import Backup, BackupTarget
from panel.backups.restic import Restic
from panel.backups.services import create_target, paused_for_backup, request_backup
from panel.core.models import Task
from panel.core.services import install_app, request_app_action
from panel.core.states import AppState
from panel.runtime.spec import app_resource_names
from tests.conftest import fetch, wait_for_task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PROBE = "/app/data/public/probe.bin"


def container(app) -> str:
    return app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container


def run(docker_runtime, app, script: str) -> str:
    code, output = docker_runtime.exec_in_container(container(app), ["sh", "-c", script])
    assert code == 0, output
    return output.strip()


@pytest.fixture
def site(worker, publish, domain, request):
    subdomain = f"bs{request.node.name[-20:].lower().replace('_', '')[:12]}"
    app = install_app(release=publish("staticsite"), subdomain=subdomain, domain=domain)
    task = wait_for_task(app.tasks.get().pk, timeout=180)
    assert task.state == Task.State.SUCCEEDED, task.error
    app.refresh_from_db()
    yield app
    wait_for_task(request_app_action(app, "uninstall").pk, timeout=120)


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"still waiting for {what} after {timeout}s")


def test_beat_backs_up_every_included_app_then_applies_retention(site, target_folder):
    from panel.celery import app as celery_app

    beat_entry = settings.CELERY_BEAT_SCHEDULE["backup-schedules"]
    assert beat_entry["schedule"] == 60.0
    target = create_target(
        name="disk",
        kind="filesystem",
        path=str(target_folder),
        backup_schedule="* * * * *",
        keep_daily=1,
        keep_weekly=0,
        keep_monthly=0,
    )
    BackupTarget.objects.filter(pk=target.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    for run_number in (1, 2):
        # What Celery beat sends every minute (by name), run by the real worker.
        celery_app.send_task(beat_entry["task"])
        wait_until(
            lambda n=run_number: (
                site.backups.filter(reason=Backup.Reason.SCHEDULED).exists()
                and Task.objects.filter(app=site, kind=Task.Kind.BACKUP).count() == n
            ),
            60,
            f"scheduled backup {run_number}",
        )
        wait_until(
            lambda: (
                BackupTarget.objects.get(pk=target.pk).scheduled_status
                in (BackupTarget.RunStatus.OK, BackupTarget.RunStatus.FAILED)
            ),
            120,
            "the retention after the run",
        )
        target.refresh_from_db()
        assert target.scheduled_status == "ok", target.scheduled_message
        # The next run is the next minute's: pretend this one was a minute earlier.
        BackupTarget.objects.filter(pk=target.pk).update(
            scheduled_slot=target.scheduled_slot - timedelta(minutes=1),
            scheduled_status="",
        )

    tasks = Task.objects.filter(app=site, kind=Task.Kind.BACKUP)
    assert [task.state for task in tasks] == [Task.State.SUCCEEDED] * 2
    assert all(task.params["reason"] == "scheduled" for task in tasks)
    # keep_daily=1: the second run's retention removed the first run's snapshot.
    [kept] = site.backups.all()
    assert kept.reason == Backup.Reason.SCHEDULED
    snapshots = Restic(target.repository()).snapshots([f"app:{site.id.hex}"])
    assert [s.id[: len(kept.snapshot_id)] for s in snapshots] == [kept.snapshot_id]
    assert "1 old backup(s) removed" in target.scheduled_message
    site.refresh_from_db()
    assert site.state == AppState.RUNNING


def test_an_app_that_asks_is_paused_while_its_data_is_copied_and_running_after(
    site, docker_runtime, target_folder
):
    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    site.manifest = {**site.manifest, "backup": {"pause": True}}
    site.env_overrides = {"GREETING": "from-the-backup"}
    site.save(update_fields=["manifest", "env_overrides"])
    # Enough data that the copy takes a moment to watch.
    run(docker_runtime, site, f"head -c 157286400 /dev/urandom > {PROBE}")

    task = request_backup(site, target)
    seen: list[tuple[int, str]] = []
    while True:
        task.refresh_from_db()
        seen.append((task.percent, docker_runtime.container_status(container(site)).status))
        if not task.is_active:
            break
        time.sleep(0.05)
    assert task.state == Task.State.SUCCEEDED, task.error
    # Paused while copying (before the upload step at 50%), running once restic uploads.
    assert any(status == "paused" and percent < 50 for percent, status in seen), seen
    assert all(status == "running" for percent, status in seen if percent >= 50), seen
    assert docker_runtime.container_status(container(site)).status == "running"
    assert fetch(site.fqdn, "/").status_code == 200

    # A failure in the middle of the copy still unpauses.
    with pytest.raises(RuntimeError), paused_for_backup(site) as paused:
        assert paused
        assert docker_runtime.container_status(container(site)).status == "paused"
        raise RuntimeError("the copy failed")
    assert docker_runtime.container_status(container(site)).status == "running"

    # The backup's configuration comes back with a restore, into the new container.
    from panel.backups.services import request_restore

    site.env_overrides = {"GREETING": "changed-later"}
    site.save(update_fields=["env_overrides"])
    backup = site.backups.get()
    restore = wait_for_task(request_restore(site, backup).pk, timeout=240)
    assert restore.state == Task.State.SUCCEEDED, restore.error
    site.refresh_from_db()
    assert site.env_overrides == {"GREETING": "from-the-backup"}
    assert run(docker_runtime, site, "printenv GREETING") == "from-the-backup"


def test_a_worker_killed_while_a_pausing_app_is_copied_leaves_it_running(
    site, worker, docker_runtime, target_folder
):
    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    site.manifest = {**site.manifest, "backup": {"pause": True}}
    site.save(update_fields=["manifest"])
    run(docker_runtime, site, f"head -c 314572800 /dev/urandom > {PROBE}")
    task = request_backup(site, target)
    wait_until(
        lambda: docker_runtime.container_status(container(site)).status == "paused",
        60,
        "the app to be paused for the copy",
    )
    worker.kill()
    assert docker_runtime.container_status(container(site)).status == "paused"
    # A starting worker fails what the dead one left running, and unpauses its app.
    worker.start()
    task = wait_for_task(task.pk, timeout=30)
    assert task.state == Task.State.FAILED and "worker stopped" in task.error
    assert docker_runtime.container_status(container(site)).status == "running"
    assert fetch(site.fqdn, "/").status_code == 200
    site.refresh_from_db()
    assert site.state == AppState.RUNNING
    # The killed copy's throwaway tar container ends on its broken pipe; the uninstall of
    # the fixture needs the volume free of it.
    volume = app_resource_names(settings.HEARTH_INSTANCE, site.id.hex).volume
    wait_until(
        lambda: (
            [c.name for c in docker_runtime.client.containers.list(filters={"volume": volume})]
            == [container(site)]
        ),
        60,
        "the killed copy's helper container to end",
    )
