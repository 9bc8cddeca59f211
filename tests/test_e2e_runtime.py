"""The runtime's promises, checked on the real Docker Engine: the base image, isolation of
app containers from each other and from the host, and reconcile repairing drift."""

from __future__ import annotations

import socket
import threading

import pytest
from django.conf import settings

from panel.core.models import Task
from panel.core.reconcile import reconcile_apps
from panel.core.services import install_app, request_app_action
from panel.proxy.sites import app_site_name
from panel.runtime.base_image import RECIPE, base_image_reference, ensure_base_image, recipe_hash
from panel.runtime.spec import app_resource_names
from tests.conftest import fetch, wait_for_task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def installed(publish, domain, subdomain):
    app = install_app(release=publish("staticsite"), subdomain=subdomain, domain=domain)
    task = wait_for_task(app.tasks.get().pk)
    assert task.state == Task.State.SUCCEEDED, task.error
    app.refresh_from_db()
    return app


def can_connect(runtime, container: str, address: str, port: int) -> bool:
    code, _ = runtime.exec_in_container(
        container, ["bash", "-c", f"timeout 3 bash -c 'echo > /dev/tcp/{address}/{port}'"]
    )
    return code == 0


def test_base_image_is_in_the_registry_tagged_by_its_recipe_hash(docker_runtime):
    reference, built = ensure_base_image(docker_runtime.client, settings.HEARTH_REGISTRY)
    assert reference == base_image_reference(settings.HEARTH_REGISTRY)
    assert reference.endswith(f":{recipe_hash()}")
    assert built is False  # the test command built it; a second call must not rebuild
    image = docker_runtime.client.images.get(reference)
    assert any(tag == reference for tag in image.tags)


def test_recipe_hash_changes_when_the_recipe_changes(monkeypatch):
    before = recipe_hash()
    monkeypatch.setitem(RECIPE, "include", [*RECIPE["include"], "curl"])
    assert recipe_hash() != before


def test_apps_cannot_reach_each_other_or_the_host(worker, publish, domain, docker_runtime):
    first = installed(publish, domain, "alpha")
    second = installed(publish, domain, "beta")
    first_names = app_resource_names(settings.HEARTH_INSTANCE, first.id.hex)
    second_names = app_resource_names(settings.HEARTH_INSTANCE, second.id.hex)
    second_address = docker_runtime.container_address(second_names.container, second_names.network)

    # The host reaches both (nginx does), so the addresses are real and listening.
    assert fetch("beta.localhost").status_code == 200
    assert not can_connect(docker_runtime, first_names.container, second_address, 8000)

    # A service listening on every host address, reached through the app bridge's gateway.
    listener = socket.create_server(("0.0.0.0", 0))  # noqa: S104 - the point of the test
    port = listener.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    network = docker_runtime.client.networks.get(first_names.network)
    gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
    try:
        assert not can_connect(docker_runtime, first_names.container, gateway, port)
        assert not accepted
    finally:
        listener.close()
    # Sanity check that the probe itself works: the app reaches its own port.
    own = docker_runtime.container_address(first_names.container, first_names.network)
    assert can_connect(docker_runtime, first_names.container, own, 8000)

    for app in (first, second):
        wait_for_task(request_app_action(app, "uninstall").pk)


def test_reconcile_restores_a_lost_server_block_and_removes_orphans(
    worker, publish, domain, docker_runtime, nginx
):
    app = installed(publish, domain, "drift")
    nginx.remove_site(app_site_name(app))
    assert fetch("drift.localhost").status_code == 404

    orphan = docker_runtime.client.containers.create(
        app.image,
        name=f"{settings.HEARTH_INSTANCE}-app-orphan0000",
        labels={"io.hearth.instance": settings.HEARTH_INSTANCE, "io.hearth.app": "f" * 32},
    )
    nginx.apply_site("app-" + "e" * 32, "# a site of an app that no longer exists\n")

    report = reconcile_apps()
    assert str(app) in report.rewritten_sites
    assert orphan.name in report.removed_containers
    assert "app-" + "e" * 32 in report.removed_sites
    assert fetch("drift.localhost").status_code == 200
    assert docker_runtime.app_resources("f" * 32).empty

    docker_runtime.stop_container(
        app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    )
    report = reconcile_apps()
    assert str(app) in report.restarted
    wait_for_task(request_app_action(app, "uninstall").pk)


def test_installs_use_a_network_made_ahead_of_time_and_reconcile_keeps_spares(
    worker, publish, domain, docker_runtime
):
    from panel.core.spare_networks import prepare_spare_networks, spare_app_ids

    prepare_spare_networks(1)
    (spare,) = spare_app_ids()
    app = installed(publish, domain, "spare")
    assert app.id.hex == spare  # the install took the spare id, and with it its network
    assert spare not in spare_app_ids()

    orphan = app_resource_names(settings.HEARTH_INSTANCE, "d" * 32)
    docker_runtime.ensure_network(orphan, "d" * 32)
    _wait_for_spare()
    report = reconcile_apps()
    assert orphan.network in report.removed_networks
    assert not any(app.id.hex in name for name in report.removed_networks)
    assert all(s not in "".join(report.removed_networks) for s in spare_app_ids())
    wait_for_task(request_app_action(app, "uninstall").pk)


def _wait_for_spare(timeout: float = 30) -> None:
    import time

    from panel.core.spare_networks import spare_app_ids

    deadline = time.monotonic() + timeout
    while not spare_app_ids():
        assert time.monotonic() < deadline, "the worker made no new spare network"
        time.sleep(0.1)
