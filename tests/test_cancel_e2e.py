"""Cancel through the real Celery worker, Docker, nginx and restic: a queued task never runs,
a running install leaves nothing behind, a running backup of a large /app/data leaves no
backup (row or snapshot) and the app running."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.db import transaction
from django.urls import reverse

from panel.backups.models import Backup
from panel.backups.restic import Restic
from panel.backups.services import create_target, request_backup
from panel.core.models import AppInstance, Event, Task
from panel.core.services import cancel_task, install_app, request_app_action
from panel.core.states import AppState
from panel.proxy.sites import app_site_name
from panel.runtime.spec import app_resource_names
from tests.conftest import fetch, wait_for_task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def container(app) -> str:
    return app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container


def wait_until(condition, timeout: float = 120, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def site(worker, publish, domain, request):
    subdomain = f"cx{request.node.name[-20:].lower().replace('_', '')[:12]}"
    app = install_app(release=publish("staticsite"), subdomain=subdomain, domain=domain)
    task = wait_for_task(app.tasks.get().pk, timeout=180)
    assert task.state == Task.State.SUCCEEDED, task.error
    app.refresh_from_db()
    yield app
    if AppInstance.objects.filter(pk=app.pk).exists():
        wait_for_task(request_app_action(app, "uninstall").pk, timeout=120)


def test_a_queued_stop_cancelled_never_runs_and_the_app_keeps_serving(site, owner, docker_runtime):
    # Queue and cancel in one transaction: the worker gets the task id once it commits.
    with transaction.atomic():
        task = request_app_action(site, "stop", user=owner)
        cancel_task(task, user=owner)
    time.sleep(2)  # the worker has had its chance to claim it
    task.refresh_from_db()
    site.refresh_from_db()
    assert task.state == Task.State.CANCELLED
    assert task.started_at is None and task.worker == ""
    assert site.state == AppState.RUNNING
    assert docker_runtime.container_status(container(site)).status == "running"
    assert fetch(site.fqdn).status_code == 200


def test_a_running_install_cancelled_leaves_no_container_volume_network_or_site(
    worker, publish, domain, owner, owner_client, docker_runtime, nginx
):
    # This app never answers its health check: the install waits until it is cancelled.
    app = install_app(
        release=publish("unhealthy"), subdomain="cancelled", domain=domain, user=owner
    )
    task = app.tasks.get()
    wait_until(
        lambda: Task.objects.get(pk=task.pk).percent >= 75, what="the install to reach its wait"
    )
    assert not docker_runtime.app_resources(app.id.hex).empty
    assert nginx.site_path(app_site_name(app)).exists()

    response = owner_client.post(reverse("core:task_cancel", args=[task.pk]), {"next": "task"})
    assert response.status_code == 302

    task = wait_for_task(task.pk, timeout=60)
    assert task.state == Task.State.CANCELLED, (task.state, task.error, task.log)
    assert "removing what the install made" in task.log
    assert not AppInstance.objects.filter(pk=app.pk).exists()
    assert docker_runtime.app_resources(app.id.hex).empty
    assert not nginx.site_path(app_site_name(app)).exists()
    assert fetch(f"cancelled.{domain.name}").status_code == 404
    assert Event.objects.filter(action="cancelled", app_label__contains="cancelled.").exists()
    # The location can be used again at once.
    again = install_app(release=publish("staticsite"), subdomain="cancelled", domain=domain)
    assert wait_for_task(again.tasks.get().pk, timeout=180).state == Task.State.SUCCEEDED
    wait_for_task(request_app_action(again, "uninstall").pk, timeout=120)


def test_a_running_backup_cancelled_leaves_no_backup_and_the_app_running(
    site, owner, owner_client, docker_runtime, target_folder
):
    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    # Large enough that the dump and upload take seconds: random bytes do not compress.
    code, output = docker_runtime.exec_in_container(
        container(site), ["sh", "-c", "head -c 400000000 /dev/urandom > /app/data/large.bin"]
    )
    assert code == 0, output
    task = request_backup(site, target, user=owner)
    wait_until(
        lambda: Task.objects.get(pk=task.pk).percent >= 15, what="the backup to start dumping"
    )

    response = owner_client.post(reverse("core:api_task_cancel", args=[task.pk]))
    assert response.status_code == 202, response.content

    task = wait_for_task(task.pk, timeout=120)
    assert task.state == Task.State.CANCELLED, (task.state, task.error, task.log)
    assert not Backup.objects.filter(app=site).exists()
    assert Restic(target.repository()).snapshots() == []
    site.refresh_from_db()
    assert site.state == AppState.RUNNING
    assert docker_runtime.container_status(container(site)).status == "running"
    assert fetch(site.fqdn).status_code == 200
    assert Event.objects.filter(action="cancelled", app=site).exists()
    # The repository is left usable: the next backup works (restic's lock went with it).
    code, _ = docker_runtime.exec_in_container(container(site), ["rm", "/app/data/large.bin"])
    assert code == 0
    done = wait_for_task(request_backup(site, target).pk, timeout=180)
    assert done.state == Task.State.SUCCEEDED, done.error


def test_a_running_clone_cancelled_removes_the_new_app_and_leaves_its_source(
    site, owner, docker_runtime, nginx, target_folder
):
    from panel.backups.clone import request_clone

    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    done = wait_for_task(request_backup(site, target).pk, timeout=180)
    assert done.state == Task.State.SUCCEEDED, done.error
    clone = request_clone(
        Backup.objects.get(app=site), subdomain="cxclone", domain=site.domain, user=owner
    )
    task = clone.tasks.get()
    wait_until(lambda: Task.objects.get(pk=task.pk).state == Task.State.RUNNING, what="the clone")

    cancel_task(task, user=owner)

    task = wait_for_task(task.pk, timeout=120)
    assert task.state == Task.State.CANCELLED, (task.state, task.error, task.log)
    assert not AppInstance.objects.filter(pk=clone.pk).exists()
    assert docker_runtime.app_resources(clone.id.hex).empty
    assert not nginx.site_path(app_site_name(clone)).exists()
    site.refresh_from_db()
    assert site.state == AppState.RUNNING
    assert fetch(site.fqdn).status_code == 200
