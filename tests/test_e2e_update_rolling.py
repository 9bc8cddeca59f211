"""Rolling updates: the new version starts beside the old one and nginx switches to it once it
is healthy, so a client polling the app through Hearth's nginx never sees a failed request. A
broken new version is removed while the old container keeps serving; a worker killed in the
middle of an update leaves the app on its old version, and the next update works."""

from __future__ import annotations

import shutil
import threading
import time

import pytest
import requests
from django.conf import settings

from apps_store.manifest import validate_manifest
from apps_store.services import build_package, record_release
from panel.core.models import AppInstance, Event, Task
from panel.core.operations import next_container_name
from panel.core.reconcile import reconcile_apps
from panel.core.services import install_app, request_app_action, update_app
from panel.core.states import AppState
from panel.proxy.nginx import get_nginx
from panel.proxy.sites import app_site_name
from panel.runtime.spec import app_resource_names
from tests.conftest import BUNDLED_PACKAGES, fetch, wait_for_task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NEW_VERSION = "3.1.4"
VERSION_HEADER = "X-Site-Version"


@pytest.fixture(scope="module")
def versioned_package(built_packages, tmp_path_factory):
    """The static site rebuilt as NEW_VERSION, answering with a header naming its version,
    so a client can tell which container served it."""
    folder = tmp_path_factory.mktemp("pkg") / "staticsite"
    shutil.copytree(BUNDLED_PACKAGES / "staticsite", folder)
    config = folder / "nginx.conf"
    config.write_text(
        config.read_text().replace(
            "listen 8000;", f"listen 8000;\n        add_header {VERSION_HEADER} {NEW_VERSION};"
        )
    )
    manifest_path = folder / "HearthManifest.json"
    manifest_path.write_text(
        manifest_path.read_text().replace('"version": "1.0.0"', f'"version": "{NEW_VERSION}"')
    )
    manifest, tag, digest = build_package(folder)
    assert manifest.version == NEW_VERSION
    return folder, manifest, tag, digest


def release_with(built_packages, version: str, image_from: str, **manifest_changes):
    """A signed release of the static site at `version`, running the image of `image_from`."""
    folder, manifest, _, _ = built_packages["staticsite"]
    _, _, tag, digest = built_packages[image_from]
    changed = validate_manifest({**manifest.data, "version": version, **manifest_changes})
    return record_release(folder, changed, tag, digest)


class Poller:
    """Requests the app through Hearth's nginx in a loop, recording every answer."""

    def __init__(self, fqdn: str) -> None:
        self.fqdn = fqdn
        self.answers: list[tuple[int | str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                response = fetch(self.fqdn, "/kept.txt")
                self.answers.append(
                    (response.status_code, response.headers.get(VERSION_HEADER, "1.0.0"))
                )
            except requests.RequestException as exc:
                self.answers.append((type(exc).__name__, ""))
            time.sleep(0.01)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    @property
    def failures(self) -> list:
        return [answer for answer in self.answers if answer[0] != 200]

    def versions(self, start: int = 0, end: int | None = None) -> set[str]:
        """The versions that answered between two marks (lengths of `answers`)."""
        return {version for _, version in self.answers[start:end]}


@pytest.fixture
def site(worker, publish, domain, docker_runtime):
    app = install_app(release=publish("staticsite"), subdomain="roll", domain=domain)
    assert wait_for_task(app.tasks.get().pk).state == Task.State.SUCCEEDED
    container = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    docker_runtime.exec_in_container(
        container, ["sh", "-c", "echo kept > /app/data/public/kept.txt"]
    )
    app.refresh_from_db()
    yield app
    if AppInstance.objects.filter(pk=app.pk).exists():
        wait_for_task(request_app_action(app, "uninstall").pk)


def container_id(docker_runtime, name: str) -> str | None:
    try:
        return docker_runtime.client.containers.get(name).id
    except Exception:  # noqa: BLE001 - docker.errors.NotFound
        return None


def site_file(app) -> str:
    return get_nginx().site_path(app_site_name(app)).read_text()


def test_a_rolling_update_serves_every_request_and_then_the_new_version(
    site, versioned_package, docker_runtime
):
    names = app_resource_names(settings.HEARTH_INSTANCE, site.id.hex)
    old_address = docker_runtime.container_address(names.container, names.network)
    folder, manifest, tag, digest = versioned_package
    release = record_release(folder, manifest, tag, digest)

    with Poller(site.fqdn) as poller:
        time.sleep(0.5)  # answers from the old version first
        queued = len(poller.answers)
        task = wait_for_task(update_app(site, release).pk, timeout=180)
        done = len(poller.answers)
        time.sleep(0.5)
    assert task.state == Task.State.SUCCEEDED, task.error
    assert poller.failures == [], poller.failures[:5]
    # Old until the update starts, new once it is done; for the moment nginx's retiring
    # workers finish their requests, both versions answer (both are healthy then).
    assert poller.versions(0, queued) == {"1.0.0"}
    assert poller.versions(done) == {NEW_VERSION}
    assert len(poller.answers) > done
    assert "beside the running one" in task.log

    site.refresh_from_db()
    assert (site.version, site.state) == (NEW_VERSION, AppState.RUNNING)
    # The new container carries the app's own name, at the app's other address; every part
    # of Hearth that looks the app up by name or address finds it.
    assert container_id(docker_runtime, next_container_name(site)) is None
    assert docker_runtime.container_image(names.container) == release.pinned_image
    new_address = docker_runtime.container_address(names.container, names.network)
    assert new_address != old_address
    assert new_address in site_file(site) and old_address not in site_file(site)
    code, output = docker_runtime.exec_in_container(
        names.container, ["cat", "/app/data/public/kept.txt"]
    )
    assert (code, output) == (0, "kept\n")
    assert docker_runtime.container_stats(names.container) is not None  # metrics
    report = reconcile_apps()
    # (Other tests' leftovers may be swept up too; nothing of this app may be.)
    ours = {names.container, next_container_name(site), str(site)}
    assert not ours & {*report.removed_containers, *report.restarted, *report.rewritten_sites}
    assert Event.objects.filter(action="update_applied", app=site).exists()

    # The next update goes back to the first address, beside this one.
    again = record_release(
        folder, validate_manifest({**manifest.data, "version": "3.1.5"}), tag, digest
    )
    assert wait_for_task(update_app(site, again).pk, timeout=180).state == Task.State.SUCCEEDED
    assert docker_runtime.container_address(names.container, names.network) == old_address
    assert fetch(site.fqdn, "/kept.txt").text == "kept\n"


def test_a_broken_new_version_is_removed_while_the_old_container_keeps_serving(
    site, built_packages, docker_runtime
):
    names = app_resource_names(settings.HEARTH_INSTANCE, site.id.hex)
    serving = container_id(docker_runtime, names.container)
    broken = release_with(built_packages, "2.0.0", image_from="broken")
    with Poller(site.fqdn) as poller:
        task = wait_for_task(update_app(site, broken).pk, timeout=180)
    assert task.state == Task.State.FAILED
    assert "rolled back" in task.error and "runs 1.0.0 again" in task.error
    assert poller.answers and poller.failures == [], poller.failures[:5]
    assert poller.versions() == {"1.0.0"}
    # The very same container served all along: it was never stopped or replaced.
    assert container_id(docker_runtime, names.container) == serving
    assert container_id(docker_runtime, next_container_name(site)) is None
    assert "Restoring the pre-update backup" not in task.log
    site.refresh_from_db()
    assert (site.version, site.state) == ("1.0.0", AppState.RUNNING)
    # The trial container was not restarted in a loop, so no false "keeps restarting" alarm.
    from panel.monitoring.services import check_all_apps_health

    assert check_all_apps_health()[site.id.hex] == "healthy"
    assert Event.objects.filter(action="rollback", app=site).exists()


def test_a_worker_killed_mid_update_leaves_the_old_version_serving_and_the_next_update_works(
    site, built_packages, versioned_package, docker_runtime, worker
):
    names = app_resource_names(settings.HEARTH_INSTANCE, site.id.hex)
    serving = container_id(docker_runtime, names.container)
    old_address = docker_runtime.container_address(names.container, names.network)
    old_image = site.image
    # A new version that never answers its health check: the kill lands during the wait.
    hanging = release_with(built_packages, "2.0.0", image_from="unhealthy")
    task = update_app(site, hanging)
    deadline = time.monotonic() + 120
    while "Waiting for" not in Task.objects.get(pk=task.pk).message:
        assert time.monotonic() < deadline, Task.objects.get(pk=task.pk).log
        time.sleep(0.1)
    assert container_id(docker_runtime, next_container_name(site)) is not None
    worker.kill()
    assert fetch(site.fqdn, "/kept.txt").text == "kept\n"  # the old one serves meanwhile
    worker.start()

    task.refresh_from_db()
    assert task.state == Task.State.FAILED
    assert "worker stopped" in task.error and "runs 1.0.0 again" in task.error
    site.refresh_from_db()
    assert (site.version, site.state, site.image) == ("1.0.0", AppState.RUNNING, old_image)
    assert site.manifest["version"] == "1.0.0"
    assert container_id(docker_runtime, names.container) == serving
    assert container_id(docker_runtime, next_container_name(site)) is None
    assert old_address in site_file(site)
    assert fetch(site.fqdn, "/kept.txt").text == "kept\n"
    assert Event.objects.filter(action="rollback", app=site).exists()

    folder, manifest, tag, digest = versioned_package
    newer = record_release(folder, manifest, tag, digest)
    assert wait_for_task(update_app(site, newer).pk, timeout=180).state == Task.State.SUCCEEDED
    response = fetch(site.fqdn, "/kept.txt")
    assert (response.text, response.headers.get(VERSION_HEADER)) == ("kept\n", NEW_VERSION)


# Recovery from a worker that died at a later point of the update, each point reproduced
# exactly: the update's own steps run here, then the next worker's recovery.
def begin_update(app, release, strategy: str):
    """What update() does before the point of interest: the task row with its recovery
    data, the app row on the new release, the new image pulled."""
    from django.utils import timezone

    from panel.core.operations import RELEASE_FIELDS, TaskProgress, _set_release
    from panel.runtime.containers import get_runtime

    previous = {name: getattr(app, name) for name in RELEASE_FIELDS}
    task = Task.objects.create(
        kind=Task.Kind.UPDATE,
        app=app,
        state=Task.State.RUNNING,
        worker="gone@host",
        started_at=timezone.now(),
        params={"release": release.pk, "previous": previous, "strategy": strategy},
    )
    AppInstance.objects.filter(pk=app.pk).update(state=AppState.UPDATING)
    get_runtime().pull_image(release.pinned_image)
    manifest = validate_manifest(release.manifest)
    _set_release(
        app,
        image=release.pinned_image,
        version=manifest.version,
        manifest=manifest.data,
        memory_limit=manifest.memory_limit,
        title=manifest.title,
    )
    return task, TaskProgress(task)


def assert_back_on_the_old_release(app, task, old_image):
    task.refresh_from_db()
    app.refresh_from_db()
    assert task.state == Task.State.FAILED and "runs 1.0.0 again" in task.error
    assert (app.version, app.image, app.state) == ("1.0.0", old_image, AppState.RUNNING)
    response = fetch(app.fqdn, "/kept.txt")
    assert (response.status_code, response.text) == (200, "kept\n")
    assert VERSION_HEADER not in response.headers
    assert container_id_of_next(app) is None


def container_id_of_next(app):
    from panel.runtime.containers import get_runtime

    return container_id(get_runtime(), next_container_name(app))


def test_a_worker_lost_after_the_switch_puts_the_old_container_back_in_front(
    site, versioned_package, docker_runtime
):
    from panel.core.operations import _start_beside_and_switch, recover_interrupted_tasks

    names = app_resource_names(settings.HEARTH_INSTANCE, site.id.hex)
    serving = container_id(docker_runtime, names.container)
    old_address = docker_runtime.container_address(names.container, names.network)
    old_image = site.image
    task, progress = begin_update(site, record_release(*versioned_package), "rolling")
    _start_beside_and_switch(site, progress)
    assert fetch(site.fqdn, "/kept.txt").headers[VERSION_HEADER] == NEW_VERSION

    assert recover_interrupted_tasks("gone@host") == 1
    assert_back_on_the_old_release(site, task, old_image)
    assert container_id(docker_runtime, names.container) == serving
    assert old_address in site_file(site)


def test_a_worker_lost_after_the_old_container_went_starts_the_old_release_again(
    site, versioned_package, docker_runtime
):
    from panel.core.operations import (
        _retire_old_container,
        _start_beside_and_switch,
        recover_interrupted_tasks,
    )

    names = app_resource_names(settings.HEARTH_INSTANCE, site.id.hex)
    old_image = site.image
    task, progress = begin_update(site, record_release(*versioned_package), "rolling")
    _start_beside_and_switch(site, progress)
    _retire_old_container(site, progress)
    assert docker_runtime.container_image(names.container) != old_image

    assert recover_interrupted_tasks("gone@host") == 1
    assert_back_on_the_old_release(site, task, old_image)
    assert docker_runtime.container_image(names.container) == old_image
    address = docker_runtime.container_address(names.container, names.network)
    assert address in site_file(site)


def test_a_worker_lost_during_a_recreate_update_restores_the_pre_update_backup(
    site, built_packages, docker_runtime, target_folder
):
    from panel.backups.services import create_target
    from panel.core.operations import (
        _pre_update_backup,
        _remember,
        _replace_container,
        recover_interrupted_tasks,
    )

    create_target(name="disk", kind="filesystem", path=str(target_folder))
    names = app_resource_names(settings.HEARTH_INSTANCE, site.id.hex)
    old_image = site.image
    release = release_with(built_packages, "2.0.0", "staticsite", updateStrategy="recreate")
    task, progress = begin_update(site, release, "recreate")
    _remember(task, snapshot=_pre_update_backup(site, progress).pk)
    _replace_container(site, progress)
    # The new version changes the data before the worker dies.
    docker_runtime.exec_in_container(names.container, ["rm", "/app/data/public/kept.txt"])

    assert recover_interrupted_tasks("gone@host") == 1
    assert_back_on_the_old_release(site, task, old_image)
    assert "Restoring the pre-update backup" in Task.objects.get(pk=task.pk).log


def test_reconcile_removes_a_next_container_no_update_works_on(site, docker_runtime):
    from dataclasses import replace

    from panel.core.operations import _spec
    from panel.runtime.spec import side_by_side_address

    names = app_resource_names(settings.HEARTH_INSTANCE, site.id.hex)
    serving = container_id(docker_runtime, names.container)
    subnet = docker_runtime.network_subnet(names.network)
    current = docker_runtime.container_address(names.container, names.network)
    spare = side_by_side_address(subnet, current)
    docker_runtime.run_container(replace(_spec(site, spare), name=next_container_name(site)))
    report = reconcile_apps()
    assert next_container_name(site) in report.removed_containers
    assert names.container not in report.removed_containers
    assert container_id(docker_runtime, next_container_name(site)) is None
    assert container_id(docker_runtime, names.container) == serving


def test_a_worker_lost_during_the_pre_update_backups_pause_unpauses_the_app(
    site, versioned_package, docker_runtime
):
    from panel.core.operations import recover_interrupted_tasks

    names = app_resource_names(settings.HEARTH_INSTANCE, site.id.hex)
    old_image = site.image
    task, _ = begin_update(site, record_release(*versioned_package), "rolling")
    docker_runtime.pause_container(names.container)  # as a backup of a "pause" app does

    assert recover_interrupted_tasks("gone@host") == 1
    assert docker_runtime.container_status(names.container).status == "running"
    assert_back_on_the_old_release(site, task, old_image)


def test_an_open_log_viewer_follows_the_app_onto_its_new_container(
    site, versioned_package, docker_runtime
):
    from panel.monitoring.consumers import LogFollower
    from panel.monitoring.logstream import LogCursor, LogLine

    names = app_resource_names(settings.HEARTH_INSTANCE, site.id.hex)
    seen: list = []
    follower = LogFollower(names.container, LogCursor(), 0, seen.append)
    follower.start()

    def logged(path: str) -> bool:
        return any(path in item.text for item in seen if isinstance(item, LogLine))

    try:
        # The viewer is following once it shows a request made after it opened.
        deadline = time.monotonic() + 30
        while not logged("/before-the-update") and time.monotonic() < deadline:
            fetch(site.fqdn, "/before-the-update")
            time.sleep(0.3)
        assert logged("/before-the-update")
        task = wait_for_task(update_app(site, record_release(*versioned_package)).pk, timeout=180)
        assert task.state == Task.State.SUCCEEDED, task.error
        fetch(site.fqdn, "/after-the-update")  # answered, and logged, by the new container
        deadline = time.monotonic() + 30
        while not logged("/after-the-update") and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        follower.stop()
    assert logged("/after-the-update"), [getattr(item, "text", item) for item in seen[-5:]]


def test_the_ldap_server_knows_the_app_at_either_of_its_addresses(make_app, docker_runtime):
    from addons.ldap.server import DirectoryServer
    from addons.models import AddonInstance
    from panel.runtime.spec import app_slot_addresses

    app = make_app("ldapapp")
    AddonInstance.objects.create(app=app, addon="ldap", state=AddonInstance.State.READY)
    names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
    first = docker_runtime.ensure_network(names, app.id.hex)
    try:
        server = DirectoryServer()
        first, second = app_slot_addresses(first)
        assert server._app_for_address(first) == app
        assert server._app_for_address(second) == app  # where a rolling update puts it
    finally:
        docker_runtime.remove_network(names.network)


def test_the_beat_task_updates_an_app_inside_the_window_through_the_worker(site, versioned_package):
    from django.conf import settings as django_settings

    from apps_store.tasks import apply_auto_updates
    from apps_store.updates import check_for_updates, save_update_window
    from panel.celery import app as celery_app

    schedule = django_settings.CELERY_BEAT_SCHEDULE["auto-updates"]
    celery_app.loader.import_default_modules()
    assert schedule["task"] in celery_app.tasks

    save_update_window(list(range(7)), 0, 0, "UTC")  # always open
    record_release(*versioned_package)
    assert check_for_updates()
    apply_auto_updates()  # what beat runs, here in the test process
    task = wait_for_task(Task.objects.get(kind=Task.Kind.UPDATE, app=site).pk, timeout=180)
    assert task.state == Task.State.SUCCEEDED, task.error
    site.refresh_from_db()
    assert site.version == NEW_VERSION
    assert fetch(site.fqdn, "/kept.txt").headers[VERSION_HEADER] == NEW_VERSION


def test_an_update_cancelled_before_the_switch_leaves_the_old_version_serving(
    site, built_packages, docker_runtime
):
    from panel.core.services import can_cancel, cancel_task

    names = app_resource_names(settings.HEARTH_INSTANCE, site.id.hex)
    serving = container_id(docker_runtime, names.container)
    hanging = release_with(built_packages, "2.0.0", image_from="unhealthy")
    task = update_app(site, hanging)
    deadline = time.monotonic() + 120
    while "Waiting for" not in Task.objects.get(pk=task.pk).message:
        assert time.monotonic() < deadline, Task.objects.get(pk=task.pk).log
        time.sleep(0.1)
    task.refresh_from_db()
    assert can_cancel(task)
    cancel_task(task)

    task = wait_for_task(task.pk, timeout=120)
    assert task.state == Task.State.CANCELLED, task.log
    site.refresh_from_db()
    assert (site.version, site.state) == ("1.0.0", AppState.RUNNING)
    assert container_id(docker_runtime, names.container) == serving
    assert container_id(docker_runtime, next_container_name(site)) is None
    assert fetch(site.fqdn, "/kept.txt").text == "kept\n"
    assert Event.objects.filter(action="cancelled", app=site).exists()
    assert not Event.objects.filter(action="rollback", app=site).exists()


def test_an_update_past_its_switch_offers_no_cancel(site):
    from panel.core.services import ActionRejected, can_cancel, cancel_task

    task = Task.objects.create(
        kind=Task.Kind.UPDATE, app=site, state=Task.State.RUNNING, params={"no_return": True}
    )
    assert not can_cancel(task)
    with pytest.raises(ActionRejected):
        cancel_task(task)
    task.delete()
