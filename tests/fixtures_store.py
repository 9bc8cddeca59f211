"""Fixtures of the App Store's tests: bundled app packages built once per session, and a
small HTTP client that talks to an installed app through Hearth's nginx."""

from __future__ import annotations

import pytest
import requests
from django.conf import settings

from apps_store.services import PACKAGES_DIR


@pytest.fixture(scope="session")
def store_package_builds(docker_runtime):
    """name -> (folder, manifest, tag, digest); each bundled package is built on first use."""
    from apps_store.services import build_package

    builds: dict[str, tuple] = {}

    def build(name: str) -> tuple:
        if name not in builds:
            folder = PACKAGES_DIR / name
            manifest, tag, digest = build_package(folder)
            builds[name] = (folder, manifest, tag, digest)
        return builds[name]

    return build


@pytest.fixture
def publish_bundled(store_package_builds):
    """Build (once) and record a bundled package as a signed release in this test's catalog."""
    from apps_store.services import record_release

    def _publish(name: str):
        return record_release(*store_package_builds(name))

    return _publish


class AppClient:
    """requests against an app through Hearth's nginx, with the app's Host header.

    glibc cannot resolve *.localhost, so every request goes to nginx's address; redirects
    are not followed because they name the app's host.
    """

    def __init__(self, fqdn: str) -> None:
        self.fqdn = fqdn
        self.base = f"http://{settings.HEARTH_HTTP_LISTEN}"
        self.session = requests.Session()
        self.session.headers["Host"] = fqdn

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        return self.session.request(method, self.base + path, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)


def run_action(app, action: str, timeout: float = 180):
    """Queue start/stop/restart/retry/uninstall on the real worker and wait for its end."""
    from panel.core.services import request_app_action
    from tests.conftest import wait_for_task

    task = wait_for_task(request_app_action(app, action).pk, timeout=timeout)
    if action != "uninstall":
        app.refresh_from_db()
    return task


def recreate_container(app):
    """Re-create the app's container from its image and data (the retry path), and wait."""
    from panel.core.models import AppInstance
    from panel.core.states import AppState

    AppInstance.objects.filter(pk=app.pk).update(state=AppState.ERROR)
    return run_action(app, "retry")


def app_container(docker_runtime, app) -> str:
    """The app's container name, after checking it runs under the app contract."""
    from panel.runtime.spec import app_resource_names

    name = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    host = docker_runtime.client.containers.get(name).attrs["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    _, uid = docker_runtime.exec_in_container(name, ["id", "-u"])
    assert uid.strip() == "1000", "the app must run as the hearth user"
    return name


def install_and_wait(release, subdomain: str, domain, timeout: float = 300):
    """install_app as the dashboard calls it, then wait for the worker: (app, task)."""
    from panel.core.services import install_app
    from tests.conftest import wait_for_task

    app = install_app(release=release, subdomain=subdomain, domain=domain)
    task = wait_for_task(app.tasks.get().pk, timeout=timeout)
    app.refresh_from_db()
    return app, task
