"""Backup and restore of a real app through the real Celery worker, Docker and restic, to a
folder target and to S3 (moto's standalone server): the original bytes come back, a second
backup of unchanged data adds almost nothing, and the wrong recovery key restores nothing."""

from __future__ import annotations

import pytest
from django.conf import settings

from panel.backups.models import Backup
from panel.backups.services import create_target, request_backup, request_restore
from panel.core.models import Task
from panel.core.services import ActionRejected, install_app, request_app_action
from panel.core.states import AppState
from panel.runtime.spec import app_resource_names
from tests.conftest import fetch, wait_for_task
from tests.fixtures_backups import damaged_backup

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PROBE = "/app/data/public/probe.bin"
S3_KEYS = {"access_key": "hearth-test", "secret_key": "hearth-test-secret", "region": "us-east-1"}


def container(app) -> str:
    return app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container


def run(docker_runtime, app, script: str) -> str:
    code, output = docker_runtime.exec_in_container(container(app), ["sh", "-c", script])
    assert code == 0, output
    return output.strip()


def probe_digest(docker_runtime, app) -> str:
    return run(docker_runtime, app, f"sha256sum {PROBE} | cut -d' ' -f1")


@pytest.fixture
def site(worker, publish, domain, docker_runtime, request):
    subdomain = f"bk{request.node.name[-20:].lower().replace('_', '')[:12]}"
    app = install_app(release=publish("staticsite"), subdomain=subdomain, domain=domain)
    task = wait_for_task(app.tasks.get().pk, timeout=180)
    assert task.state == Task.State.SUCCEEDED, task.error
    app.refresh_from_db()
    yield app
    wait_for_task(request_app_action(app, "uninstall").pk, timeout=120)


def backup(app, target, reason="manual") -> Backup:
    task = wait_for_task(request_backup(app, target, reason=reason).pk, timeout=180)
    assert task.state == Task.State.SUCCEEDED, task.error
    return Backup.objects.filter(app=app, reason=reason).first()


def restore(app, backup_row) -> Task:
    task = wait_for_task(request_restore(app, backup_row).pk, timeout=240)
    app.refresh_from_db()
    return task


def test_a_folder_backup_restores_the_original_bytes_and_an_unchanged_one_adds_almost_nothing(
    site, docker_runtime, target_folder
):
    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    run(docker_runtime, site, f"head -c 2097152 /dev/urandom > {PROBE}")
    original = probe_digest(docker_runtime, site)
    served = fetch(site.fqdn, "/probe.bin").content

    first = backup(site, target)
    assert site.backups.count() == 1
    assert first.app_version == "1.0.0"
    assert first.data_added > 2 * 1024 * 1024 * 0.9
    second = backup(site, target, reason="scheduled")
    # Only restic's metadata and the re-dumped config are new; the 2 MiB are deduplicated.
    assert second.data_added < 64 * 1024, second.data_added
    site.refresh_from_db()
    assert site.state == AppState.RUNNING

    run(
        docker_runtime,
        site,
        f"head -c 1000 /dev/urandom > {PROBE}; rm -f /app/data/public/index.html",
    )
    assert probe_digest(docker_runtime, site) != original

    task = restore(site, first)
    assert task.state == Task.State.SUCCEEDED, task.error
    assert site.state == AppState.RUNNING
    assert probe_digest(docker_runtime, site) == original
    assert fetch(site.fqdn, "/probe.bin").content == served
    assert fetch(site.fqdn, "/").status_code == 200
    # The state before the restore was kept too, as a backup of its own.
    assert site.backups.filter(reason=Backup.Reason.PRE_RESTORE).count() == 1


def test_an_s3_backup_restores_and_the_wrong_recovery_key_restores_nothing_and_says_so(
    site, docker_runtime, s3_server, s3_bucket
):
    with pytest.raises(ActionRejected) as caught:
        create_target(name="cloud", kind="s3", endpoint=s3_server, bucket="hearth-e2e", **S3_KEYS)
    assert "no bucket named hearth-e2e" in caught.value.errors["bucket"]
    s3_bucket("hearth-e2e")
    target = create_target(
        name="cloud", kind="s3", endpoint=s3_server, bucket="hearth-e2e", prefix="apps", **S3_KEYS
    )
    run(docker_runtime, site, f"head -c 300000 /dev/urandom > {PROBE}")
    original = probe_digest(docker_runtime, site)
    taken = backup(site, target)

    run(docker_runtime, site, f"echo changed > {PROBE}")
    changed = probe_digest(docker_runtime, site)
    task = restore(site, taken)
    assert task.state == Task.State.SUCCEEDED, task.error
    assert probe_digest(docker_runtime, site) == original

    run(docker_runtime, site, f"echo changed > {PROBE}")
    target.password = "not-the-recovery-key"
    target.save()
    task = restore(site, taken)
    assert task.state == Task.State.FAILED
    assert "nothing was restored" in task.error and "password" in task.error
    assert site.state == AppState.RUNNING
    assert probe_digest(docker_runtime, site) == changed
    assert fetch(site.fqdn, "/").status_code == 200


def test_a_restore_that_fails_halfway_puts_the_pre_restore_state_back(
    site, docker_runtime, target_folder, tmp_path
):

    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    # A damaged backup: its config reads fine, but the /app/data archive is not a tar, so the
    # restore fails after the app's volume was already emptied.
    bad = damaged_backup(site, target, tmp_path)
    run(docker_runtime, site, f"head -c 100000 /dev/urandom > {PROBE}")
    current = probe_digest(docker_runtime, site)

    task = restore(site, bad)
    assert task.state == Task.State.FAILED
    assert "the app runs as before the restore" in task.error
    assert site.state == AppState.RUNNING
    assert probe_digest(docker_runtime, site) == current
    assert fetch(site.fqdn, "/").status_code == 200


def test_a_worker_killed_during_a_backup_leaves_the_app_running_and_the_next_backup_works(
    site, worker, docker_runtime, target_folder
):
    import time

    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    # Enough data that the copy takes a while, so the kill lands in the middle of it.
    run(docker_runtime, site, f"head -c 314572800 /dev/urandom > {PROBE}")
    original = probe_digest(docker_runtime, site)
    task = request_backup(site, target)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        task.refresh_from_db()
        if task.state == Task.State.RUNNING and task.percent >= 15:
            break
        time.sleep(0.05)
    assert task.state == Task.State.RUNNING, task.state
    worker.kill()
    worker.start()

    task = wait_for_task(task.pk, timeout=30)
    assert task.state == Task.State.FAILED
    assert "worker stopped" in task.error
    site.refresh_from_db()
    assert site.state == AppState.RUNNING
    assert not site.backups.exists()
    assert probe_digest(docker_runtime, site) == original

    taken = backup(site, target)
    assert taken.size > 300 * 1024 * 1024
    run(docker_runtime, site, f"rm {PROBE}")
    assert restore(site, taken).state == Task.State.SUCCEEDED
    assert probe_digest(docker_runtime, site) == original
