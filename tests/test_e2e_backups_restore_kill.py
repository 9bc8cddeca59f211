"""A worker killed with SIGKILL in the middle of a restore (real Celery worker, Docker and
restic): before the restore touched the app, the app keeps running on its own data; while
the data was being replaced, the app waits in error naming the pre-restore backup, nothing is
lost, and the next restore works."""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from panel.backups.models import Backup
from panel.backups.services import create_target, request_backup, request_restore
from panel.core.models import Event, Task
from panel.core.services import install_app, request_app_action
from panel.core.states import AppState
from panel.runtime.spec import app_resource_names
from tests.conftest import fetch, wait_for_task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PROBE = "/app/data/public/probe.bin"


def run(docker_runtime, app, script: str) -> str:
    container = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    code, output = docker_runtime.exec_in_container(container, ["sh", "-c", script])
    assert code == 0, output
    return output.strip()


def probe_digest(docker_runtime, app) -> str:
    return run(docker_runtime, app, f"sha256sum {PROBE} | cut -d' ' -f1")


def kill_when(worker, task: Task, reached: int) -> None:
    """SIGKILL the worker once the task's progress reaches `reached` percent."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        task.refresh_from_db()
        if task.state == Task.State.RUNNING and task.percent >= reached:
            break
        assert task.is_active, f"the task ended before the kill: {task.state} {task.error}"
        time.sleep(0.02)
    assert task.state == Task.State.RUNNING and task.percent >= reached, (
        f"{task.state} {task.percent}% {task.log}\nworker log:\n"
        + worker.log_path.read_text(errors="replace")[-6000:]
    )
    worker.kill()
    worker.start()


def test_a_worker_killed_during_a_restore_loses_nothing_and_the_next_restore_works(
    worker, publish, domain, docker_runtime, target_folder
):
    app = install_app(release=publish("staticsite"), subdomain="killrestore", domain=domain)
    task = wait_for_task(app.tasks.get().pk, timeout=180)
    assert task.state == Task.State.SUCCEEDED, task.error
    app.refresh_from_db()
    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    # Big enough that each phase of the restore takes a while, so the kill lands inside it.
    run(docker_runtime, app, f"head -c 209715200 /dev/urandom > {PROBE}")
    wanted = probe_digest(docker_runtime, app)
    task = wait_for_task(request_backup(app, target).pk, timeout=240)
    assert task.state == Task.State.SUCCEEDED, task.error
    taken = Backup.objects.get(app=app)
    run(docker_runtime, app, f"head -c 104857600 /dev/urandom > {PROBE}")
    current = probe_digest(docker_runtime, app)

    # Killed while taking the pre-restore backup: nothing was touched, the app runs on.
    restore = request_restore(app, taken)
    kill_when(worker, restore, 30)
    restore = wait_for_task(restore.pk, timeout=60)
    assert restore.state == Task.State.FAILED
    assert "before the restore changed anything" in restore.error
    app.refresh_from_db()
    assert app.state == AppState.RUNNING
    assert probe_digest(docker_runtime, app) == current
    assert fetch(app.fqdn, "/").status_code == 200

    # Killed while the data was being replaced: error, with the pre-restore backup named.
    restore = request_restore(app, taken)
    kill_when(worker, restore, 50)
    restore = wait_for_task(restore.pk, timeout=60)
    assert restore.state == Task.State.FAILED
    app.refresh_from_db()
    assert app.state == AppState.ERROR
    safety = Backup.objects.get(app=app, reason=Backup.Reason.PRE_RESTORE)
    assert f"pre-restore backup {safety.snapshot_id[:8]}" in app.error
    assert "restore again" in app.error
    assert Event.objects.filter(app=app, action="restore", outcome="failed").exists()

    # Nothing lost: the pre-restore backup gives back the data the app had before ...
    done = wait_for_task(request_restore(app, safety).pk, timeout=300)
    assert done.state == Task.State.SUCCEEDED, f"{done.error}\n{done.log}"
    app.refresh_from_db()
    assert app.state == AppState.RUNNING
    assert probe_digest(docker_runtime, app) == current
    # ... and the restore that was interrupted works when asked again.
    done = wait_for_task(request_restore(app, taken).pk, timeout=300)
    assert done.state == Task.State.SUCCEEDED, f"{done.error}\n{done.log}"
    app.refresh_from_db()
    assert app.state == AppState.RUNNING
    assert probe_digest(docker_runtime, app) == wanted
    assert fetch(app.fqdn, "/").status_code == 200
    assert wait_for_task(request_app_action(app, "uninstall").pk, timeout=120).state == (
        Task.State.SUCCEEDED
    )
