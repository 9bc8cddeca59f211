"""Updates: an app moves to a newer signed release and keeps its data; a new version that
does not come up healthy is rolled back automatically to the one that ran before."""

from __future__ import annotations

import pytest
from django.conf import settings

from apps_store.manifest import validate_manifest
from apps_store.services import record_release
from panel.core.models import AppInstance, Event, Task
from panel.core.services import ActionRejected, install_app, request_app_action, update_app
from panel.core.states import AppState
from panel.runtime.spec import app_resource_names
from tests.conftest import fetch, wait_for_task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def release_of(
    built_packages, package: str, version: str, image_from: str | None = None, **changes
):
    """A signed release of the static site at `version`, with the image of `image_from`."""
    folder, manifest, _, _ = built_packages["staticsite"]
    _, _, tag, digest = built_packages[image_from or "staticsite"]
    changed = validate_manifest(
        {**manifest.data, "version": version, "changelog": f"Release {version}.", **changes}
    )
    return record_release(folder, changed, tag, digest)


@pytest.fixture
def site(worker, publish, domain, docker_runtime):
    app = install_app(release=publish("staticsite"), subdomain="upd", domain=domain)
    assert wait_for_task(app.tasks.get().pk).state == Task.State.SUCCEEDED
    container = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    docker_runtime.exec_in_container(
        container, ["sh", "-c", "echo kept > /app/data/public/kept.txt"]
    )
    app.refresh_from_db()
    yield app
    if AppInstance.objects.filter(pk=app.pk).exists():
        wait_for_task(request_app_action(app, "uninstall").pk)


def test_an_update_moves_the_app_to_the_new_release_and_keeps_its_data(site, built_packages):
    newer = release_of(built_packages, "staticsite", "1.0.1")
    task = wait_for_task(update_app(site, newer).pk)
    assert task.state == Task.State.SUCCEEDED, task.error
    site.refresh_from_db()
    assert (site.version, site.state) == ("1.0.1", AppState.RUNNING)
    assert site.manifest["changelog"] == "Release 1.0.1."
    assert fetch("upd.localhost", "/kept.txt").text == "kept\n"
    assert Event.objects.filter(action="update_applied", app=site, message="1.0.0 → 1.0.1")


def test_a_broken_new_version_is_rolled_back_with_the_data_intact(
    site, built_packages, target_folder
):
    from panel.backups.models import Backup
    from panel.backups.services import create_target

    create_target(name="disk", kind="filesystem", path=str(target_folder))
    # Stopped first (not rolling), so the rollback puts the pre-update snapshot back.
    broken = release_of(
        built_packages, "staticsite", "2.0.0", image_from="broken", updateStrategy="recreate"
    )
    old_image = site.image
    task = wait_for_task(update_app(site, broken).pk, timeout=180)
    assert task.state == Task.State.FAILED
    assert "rolled back" in task.error and "runs 1.0.0 again" in task.error
    site.refresh_from_db()
    assert (site.version, site.state, site.image) == ("1.0.0", AppState.RUNNING, old_image)
    assert fetch("upd.localhost", "/kept.txt").text == "kept\n"
    assert Event.objects.filter(action="rollback", app=site).exists()
    # The update took a snapshot first, and the rollback put it back.
    assert Backup.objects.filter(app=site, reason=Backup.Reason.PRE_UPDATE).count() == 1
    assert "Restoring the pre-update backup" in task.log
    assert 'asks for updateStrategy "recreate"' in task.log


def test_updates_go_forward_within_the_same_app_only(site, built_packages, publish):
    older = release_of(built_packages, "staticsite", "0.9.0")
    with pytest.raises(ActionRejected, match="not newer"):
        update_app(site, older)
    with pytest.raises(ActionRejected, match="not a release of"):
        update_app(site, publish("unhealthy"))
    with pytest.raises(ActionRejected, match="newest release"):
        request_app_action(site, "update")  # the store offers nothing newer
    assert not Task.objects.filter(kind="update").exists()


def test_the_app_page_offers_the_update_the_store_found_and_runs_it(
    site, built_packages, owner_client
):
    from django.urls import reverse

    from apps_store.updates import check_for_updates

    newer = release_of(built_packages, "staticsite", "1.1.0")
    check_for_updates()
    page = owner_client.get(reverse("core:app_detail", args=[site.pk])).content.decode()
    assert "Update to 1.1.0" in page
    owner_client.post(reverse("core:app_action", args=[site.pk, "update"]))
    task = wait_for_task(Task.objects.get(kind="update").pk)
    assert task.state == Task.State.SUCCEEDED, task.error
    assert task.params["release"] == newer.pk
    site.refresh_from_db()
    assert site.version == "1.1.0"
    page = owner_client.get(reverse("core:app_detail", args=[site.pk])).content.decode()
    assert "Update to" not in page
