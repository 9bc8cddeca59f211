"""Clone and import through the dashboard, the API and the real worker, Docker and restic.

Import is tested as the owner of a fresh Hearth lives it: the app and every row about its
backups are gone, only the folder and the recovery key remain."""

from __future__ import annotations

import pytest
from django.conf import settings

from panel.backups.models import Backup, BackupTarget
from panel.backups.restic import Restic
from panel.backups.services import (
    create_target,
    request_backup,
)
from panel.core.models import AppInstance, Event, Task
from panel.core.services import install_app, request_app_action
from panel.core.states import AppState
from panel.runtime.spec import app_resource_names
from tests.conftest import fetch, wait_for_task
from tests.fixtures_backups import damaged_backup

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PROBE = "/app/data/public/probe.bin"


def run(docker_runtime, app, script: str) -> str:
    container = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    code, output = docker_runtime.exec_in_container(container, ["sh", "-c", script])
    assert code == 0, output
    return output.strip()


def probe_digest(docker_runtime, app) -> str:
    return run(docker_runtime, app, f"sha256sum {PROBE} | cut -d' ' -f1")


def installed_site(publish, domain, subdomain: str) -> AppInstance:
    app = install_app(release=publish("staticsite"), subdomain=subdomain, domain=domain)
    task = wait_for_task(app.tasks.get().pk, timeout=180)
    assert task.state == Task.State.SUCCEEDED, task.error
    app.refresh_from_db()
    return app


def backed_up(app, target) -> Backup:
    task = wait_for_task(request_backup(app, target).pk, timeout=180)
    assert task.state == Task.State.SUCCEEDED, task.error
    return Backup.objects.filter(app=app).first()


def uninstalled(app) -> None:
    task = wait_for_task(request_app_action(app, "uninstall").pk, timeout=120)
    assert task.state == Task.State.SUCCEEDED, task.error


def test_an_app_comes_back_on_a_fresh_hearth_from_the_folder_and_the_recovery_key(
    worker, publish, domain, docker_runtime, target_folder, owner_client
):
    site = installed_site(publish, domain, "journal")
    run(docker_runtime, site, f"head -c 500000 /dev/urandom > {PROBE}")
    original = probe_digest(docker_runtime, site)
    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    key = target.password
    taken = backed_up(site, target)
    # A fresh Hearth: no app, no target, no backup rows; only the folder and the key.
    uninstalled(site)
    Backup.objects.all().delete()
    BackupTarget.objects.all().delete()
    source = {"kind": "filesystem", "path": str(target_folder)}

    response = owner_client.post("/backups/import/", {**source, "recovery_key": "not-the-key"})
    assert response.status_code == 400
    assert "This recovery key does not open the backups there." in response.content.decode()
    response = owner_client.post(
        "/backups/import/", {"kind": "filesystem", "path": "/nowhere/x", "recovery_key": key}
    )
    assert "There is no folder /nowhere/x on this server." in response.content.decode()
    assert not BackupTarget.objects.exists() and not AppInstance.objects.exists()

    response = owner_client.post("/backups/import/", {**source, "recovery_key": key})
    assert response.status_code == 200
    page = response.content.decode()
    assert taken.snapshot_id[:8] in page and f"journal.{domain.name}" in page

    snapshot_id = (
        Restic(BackupTarget(kind="filesystem", path=str(target_folder), password=key).repository())
        .snapshots()[0]
        .id
    )
    response = owner_client.post(
        "/backups/import/start/",
        {
            **source,
            "recovery_key": key,
            "snapshot": snapshot_id,
            "subdomain": "journal",
            "domain": domain.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    app = AppInstance.objects.get()
    assert response["Location"] == f"/apps/{app.pk}/"
    task = wait_for_task(app.tasks.get().pk, timeout=240)
    assert task.kind == Task.Kind.IMPORT
    assert task.state == Task.State.SUCCEEDED, f"{task.error}\n{task.log}"
    app.refresh_from_db()
    assert app.state == AppState.RUNNING
    assert probe_digest(docker_runtime, app) == original
    assert fetch(app.fqdn, "/").status_code == 200

    # The target is known again, so the imported app's next backup goes there.
    saved = BackupTarget.objects.get()
    assert saved.location == str(target_folder)
    assert backed_up(app, saved).target == saved
    assert len(Restic(saved.repository()).snapshots()) == 2
    uninstalled(app)


def test_a_clone_through_the_api_refuses_a_taken_name_and_a_failed_clone_leaves_nothing(
    worker, publish, domain, docker_runtime, target_folder, owner_client, tmp_path
):
    site = installed_site(publish, domain, "origin")
    run(docker_runtime, site, f"head -c 200000 /dev/urandom > {PROBE}")
    original = probe_digest(docker_runtime, site)
    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    # Settings the owner made travel with the snapshot into the clone.
    AppInstance.objects.filter(pk=site.pk).update(env_overrides={"GREETING": "hello"})
    site.refresh_from_db()
    taken = backed_up(site, target)
    url = f"/api/v1/apps/{site.pk}/clone/"

    response = owner_client.post(
        url,
        {"backup": taken.pk, "subdomain": "origin", "domain": domain.name},
        content_type="application/json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["subdomain"] == f"origin.{domain.name} is already used by another app."
    assert AppInstance.objects.count() == 1

    response = owner_client.post(
        url,
        {"backup": taken.pk, "subdomain": "copy", "domain": domain.name},
        content_type="application/json",
    )
    assert response.status_code == 202, response.content
    clone = AppInstance.objects.get(pk=response.json()["app"]["id"])
    task = wait_for_task(response.json()["task"]["id"], timeout=240)
    assert task.state == Task.State.SUCCEEDED, f"{task.error}\n{task.log}"
    assert probe_digest(docker_runtime, clone) == original
    clone.refresh_from_db()
    assert clone.env_overrides == {"GREETING": "hello"}
    assert run(docker_runtime, clone, "echo $GREETING") == "hello"
    # The source keeps running, untouched, while the clone changes.
    run(docker_runtime, clone, f"echo changed > {PROBE}")
    assert probe_digest(docker_runtime, site) == original
    assert fetch(site.fqdn, "/probe.bin").status_code == 200
    uninstalled(clone)

    # A snapshot whose data cannot be loaded: the clone ends in error, a retry clones again,
    # and uninstalling it leaves nothing behind.
    bad = damaged_backup(site, target, tmp_path)
    response = owner_client.post(
        f"/backups/apps/{site.pk}/clone/{bad.pk}/", {"subdomain": "broken", "domain": domain.pk}
    )
    assert response.status_code == 302
    broken = AppInstance.objects.get(subdomain="broken")
    task = wait_for_task(broken.tasks.get().pk, timeout=240)
    assert task.state == Task.State.FAILED
    broken.refresh_from_db()
    assert broken.state == AppState.ERROR and broken.error
    assert Event.objects.filter(app=broken, action="clone", outcome="failed").exists()
    retry = request_app_action(broken, "retry")
    assert (retry.kind, retry.params["backup"]) == (Task.Kind.CLONE, bad.pk)
    assert wait_for_task(retry.pk, timeout=240).state == Task.State.FAILED
    broken_id = broken.id.hex
    uninstalled(broken)
    assert docker_runtime.app_resources(broken_id).empty
    assert site.state == AppState.RUNNING and probe_digest(docker_runtime, site) == original
    uninstalled(site)
