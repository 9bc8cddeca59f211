"""The static website app through real Docker, registry, nginx and a real Celery worker."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from panel.core.models import AppInstance, Event, Task
from panel.core.services import install_app, request_app_action
from panel.core.states import AppState, allowed_actions
from panel.proxy.sites import app_site_name
from panel.runtime.spec import app_resource_names
from tests.conftest import fetch, wait_for_task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def names(app):
    return app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)


def install(publish, domain, package="staticsite", subdomain="site"):
    app = install_app(release=publish(package), subdomain=subdomain, domain=domain)
    task = wait_for_task(app.tasks.get().pk)
    app.refresh_from_db()
    return app, task


def act(app, action):
    task = wait_for_task(request_app_action(app, action).pk)
    app.refresh_from_db()
    return task


def test_static_app_installs_serves_through_nginx_and_uninstalls_without_leftovers(
    worker, publish, domain, docker_runtime, nginx
):
    app, task = install(publish, domain)
    assert task.state == Task.State.SUCCEEDED, task.error
    assert app.state == AppState.RUNNING
    assert task.percent == 100
    assert "Healthy" in task.log

    page = fetch("site.localhost")
    assert page.status_code == 200
    assert "Welcome to your website" in page.text

    uninstall = act_uninstall(app)
    assert uninstall.state == Task.State.SUCCEEDED, uninstall.error
    assert not AppInstance.objects.filter(pk=app.pk).exists()
    assert docker_runtime.app_resources(app.id.hex).empty
    assert not nginx.site_path(app_site_name(app)).exists()
    assert fetch("site.localhost").status_code == 404
    assert Event.objects.filter(action="uninstall", app_label__contains="site.localhost").exists()


def act_uninstall(app):
    task_id = request_app_action(app, "uninstall").pk
    return wait_for_task(task_id)


def test_container_follows_the_app_contract(worker, publish, domain, docker_runtime):
    app, task = install(publish, domain, subdomain="contract")
    assert task.state == Task.State.SUCCEEDED, task.error
    container = docker_runtime.client.containers.get(names(app).container)
    host = container.attrs["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    assert set(host["Tmpfs"]) == {"/tmp", "/run"}
    assert host["Memory"] == host["MemorySwap"] == 64 * 1024 * 1024
    assert host["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["RestartPolicy"]["Name"] == "unless-stopped"
    assert host["PortBindings"] in (None, {})  # reached through nginx, never a host port
    assert list(container.attrs["NetworkSettings"]["Networks"]) == [names(app).network]
    assert container.labels["io.hearth.app"] == app.id.hex
    env = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])
    assert env["HEARTH_APP_ORIGIN"] == env["CLOUDRON_APP_ORIGIN"] == "http://contract.localhost"
    assert env["HEARTH_APP_DOMAIN"] == "contract.localhost"

    code, _ = docker_runtime.exec_in_container(names(app).container, ["touch", "/usr/x"])
    assert code != 0, "the root filesystem must be read-only"
    code, _ = docker_runtime.exec_in_container(
        names(app).container, ["sh", "-c", "touch /tmp/x /run/x /app/data/x"]
    )
    assert code == 0, "/tmp, /run and /app/data must be writable"
    act_uninstall(app)


def test_stop_shows_a_stopped_page_and_start_brings_the_site_back_with_its_data(
    worker, publish, domain, docker_runtime
):
    app, _ = install(publish, domain, subdomain="keep")
    docker_runtime.exec_in_container(
        names(app).container, ["sh", "-c", "echo kept > /app/data/public/kept.txt"]
    )
    assert act(app, "stop").state == Task.State.SUCCEEDED
    assert app.state == AppState.STOPPED
    stopped = fetch("keep.localhost")
    assert stopped.status_code == 503
    assert "is stopped" in stopped.text
    assert not docker_runtime.container_status(names(app).container).running

    assert act(app, "start").state == Task.State.SUCCEEDED
    assert app.state == AppState.RUNNING
    assert fetch("keep.localhost", "/kept.txt").text == "kept\n"

    assert act(app, "restart").state == Task.State.SUCCEEDED
    assert fetch("keep.localhost", "/kept.txt").text == "kept\n"

    # Re-creating the container (retry path) keeps /app/data too.
    AppInstance.objects.filter(pk=app.pk).update(state=AppState.ERROR)
    assert act(app, "retry").state == Task.State.SUCCEEDED
    assert fetch("keep.localhost", "/kept.txt").text == "kept\n"
    act_uninstall(app)


def test_an_app_that_crashes_at_start_ends_in_error_with_its_log_and_can_be_uninstalled(
    worker, publish, domain, docker_runtime
):
    app, task = install(publish, domain, package="broken", subdomain="broken")
    assert task.state == Task.State.FAILED
    assert app.state == AppState.ERROR
    assert "exited" in app.error
    assert "missing configuration" in task.error
    assert "retry" in allowed_actions(app.state)
    assert act_uninstall(app).state == Task.State.SUCCEEDED
    assert docker_runtime.app_resources(app.id.hex).empty


def test_a_worker_killed_mid_install_leaves_the_app_retryable_not_stuck(
    worker, publish, domain, docker_runtime
):
    app = install_app(release=publish("unhealthy"), subdomain="killed", domain=domain)
    task = app.tasks.get()
    _wait_until(lambda: "waiting for /healthz" in Task.objects.get(pk=task.pk).message)
    worker.kill()
    worker.start()
    task.refresh_from_db()
    app.refresh_from_db()
    assert task.state == Task.State.FAILED
    assert "worker stopped" in task.error
    assert app.state == AppState.ERROR
    assert act_uninstall(app).state == Task.State.SUCCEEDED
    assert docker_runtime.app_resources(app.id.hex).empty


def _wait_until(predicate, timeout: float = 60) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def test_dashboard_flow_install_watch_progress_open_stop_uninstall(
    worker, publish, domain, owner_client
):
    publish("staticsite")
    response = owner_client.post(
        reverse("apps_store:install", args=["io.hearth.staticsite"]),
        {"subdomain": "dash", "domain": domain.pk},
    )
    app = AppInstance.objects.get(subdomain="dash")
    assert response["Location"] == reverse("core:app_detail", args=[app.pk])
    page = owner_client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in page  # the progress bar polls while the task runs
    wait_for_task(app.tasks.get().pk)
    fragment = owner_client.get(
        reverse("core:app_progress", args=[app.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'value="100"' in fragment
    assert "every 1s" not in fragment  # and stops polling once done
    assert "Running" in owner_client.get(reverse("core:dashboard")).content.decode()
    assert fetch("dash.localhost").status_code == 200

    owner_client.post(reverse("core:app_action", args=[app.pk, "stop"]))
    wait_for_task(app.tasks.first().pk)
    assert fetch("dash.localhost").status_code == 503
    owner_client.post(reverse("core:app_action", args=[app.pk, "uninstall"]))
    wait_for_task(Task.objects.filter(kind="uninstall").get().pk)
    assert not AppInstance.objects.filter(pk=app.pk).exists()
