"""Shared fixtures: named personas for the dashboard, and for the end-to-end tests one set
of real services per session (dockerd, the registry and Redis started by `scripts/hearth
test`; a private nginx and a real Celery worker process started here)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

pytest_plugins = [
    "tests.fixtures_addons",
    "tests.fixtures_store",
    "tests.fixtures_domains",
    "tests.fixtures_monitoring",
    "tests.fixtures_backups",
]

ROOT = Path(__file__).resolve().parent.parent
TEST_PACKAGES = Path(__file__).resolve().parent / "packages"
BUNDLED_PACKAGES = ROOT / "apps_store" / "packages"


# Personas ---------------------------------------------------------------------------------
@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_superuser("owner", "owner@example.com", "pw-owner")


@pytest.fixture
def outsider(django_user_model):
    return django_user_model.objects.create_user("outsider", "outsider@example.com", "pw-out")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def outsider_client(client, outsider):
    client.force_login(outsider)
    return client


@pytest.fixture
def domain(db):
    from panel.domains.services import ensure_default_domain

    return ensure_default_domain()


# Real services ----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def docker_runtime():
    from panel.runtime.containers import get_runtime

    runtime = get_runtime()
    try:
        runtime.client.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"dockerd is not running ({exc}); run the suite with `scripts/hearth test`")
    yield runtime
    # Safety net: nothing of this session's instance may outlive it.
    filters = {"label": f"io.hearth.instance={settings.HEARTH_INSTANCE}"}
    for container in runtime.client.containers.list(all=True, filters=filters):
        container.remove(force=True, v=True)
    for network in runtime.client.networks.list(filters=filters):
        network.remove()
    for volume in runtime.client.volumes.list(filters=filters):
        volume.remove(force=True)


def _close_session_ports() -> None:
    """The host ports this session's addons opened to app containers (its own internal
    dashboard listener and LDAP directory, on free ports picked by panel.settings_test)."""
    from panel.runtime.firewall import close_app_to_host_port, close_unused_app_ports

    for port in settings.HEARTH_TEST_SESSION_PORTS:
        close_app_to_host_port(port)
    # And those its tests opened on other free ports (a TLS listener, a panel of their own).
    close_unused_app_ports()


def pytest_sessionfinish(session, exitstatus) -> None:
    # The session's own data folder (named after its process id) goes with it.
    # Only the folder panel.settings_test made: a HEARTH_HOME given from outside (the
    # platform's own) is never removed.
    session = os.environ.get("HEARTH_TEST_SESSION")
    if session == str(os.getpid()):
        _close_session_ports()
    if session == str(os.getpid()) and settings.HEARTH_HOME.name == f"hearth-test-{session}":
        shutil.rmtree(settings.HEARTH_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def nginx():
    from panel.proxy.nginx import get_nginx

    proxy = get_nginx()
    # Site files of apps from an earlier, interrupted run would shadow this run's apps.
    for leftover in proxy.sites.glob("*.conf"):
        leftover.unlink()
    proxy.ensure_running()
    yield proxy
    proxy.stop()


def fetch(fqdn: str, path: str = "/", **kwargs) -> requests.Response:
    """GET through Hearth's nginx with the app's Host header (glibc can't resolve *.localhost)."""
    listen = settings.HEARTH_HTTP_LISTEN
    return requests.get(f"http://{listen}{path}", headers={"Host": fqdn}, timeout=10, **kwargs)


@pytest.fixture(scope="session")
def built_packages(docker_runtime):
    """Every package the e2e tests install, built FROM the base image and pushed, once."""
    from apps_store.services import build_package

    packages = {}
    for folder in [BUNDLED_PACKAGES / "staticsite", *sorted(TEST_PACKAGES.iterdir())]:
        manifest, tag, digest = build_package(folder)
        packages[folder.name] = (folder, manifest, tag, digest)
    return packages


@pytest.fixture
def publish(built_packages):
    """Record a built package as a store release (per test: the database is flushed)."""
    from apps_store.services import record_release

    def _publish(name: str):
        folder, manifest, tag, digest = built_packages[name]
        return record_release(folder, manifest, tag, digest)

    return _publish


class WorkerProcess:
    """A real `celery worker` on the test database, which tests may kill and start again."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.log_path = Path(settings.HEARTH_HOME) / "test-worker.log"
        self.process: subprocess.Popen | None = None
        # Unique per session: recovery after a kill finds the tasks by this name.
        self.hostname = f"{settings.HEARTH_INSTANCE}-worker@%h"

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "panel.settings_test",
            "DATABASE_URL": self.database_url,
        }
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "panel",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                f"--hostname={self.hostname}",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with self.log_path.open("rb") as handle:
                handle.seek(offset)
                if b" ready." in handle.read():
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"the Celery worker did not start; see {self.log_path}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        # The pool children die with the parent's process group only on a warm shutdown.
        subprocess.run(["pkill", "-9", "-f", f"hostname={self.hostname}"], check=False)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def _database_url() -> str:
    from django.db import connection

    config = connection.settings_dict
    if config["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{config['NAME']}"
    user = config.get("USER") or ""
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{config['PORT']}" if config.get("PORT") else ""
    return f"postgres://{auth}{config.get('HOST') or 'localhost'}{port}/{config['NAME']}"


@pytest.fixture(scope="session")
def worker(django_db_setup, django_db_blocker, docker_runtime, nginx):
    with django_db_blocker.unblock():
        process = WorkerProcess(_database_url())
    process.start()
    yield process
    process.stop()


def wait_for_task(task_id: int, timeout: float = 90):
    from panel.core.models import Task

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = Task.objects.get(pk=task_id)
        if not task.is_active:
            return task
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} still {task.state} after {timeout}s: {task.log}")


@pytest.fixture
def make_app(domain):
    """An app row only (no container): for tests of what the database decides."""
    from panel.core.models import AppInstance

    def _make(subdomain: str = "site", **fields):
        values = {
            "store_app_id": "io.hearth.staticsite",
            "title": "Site",
            "version": "1.0.0",
            "manifest": {},
            "image": "x",
            "memory_limit": 1,
            "state": "running",
        }
        values.update(fields)
        return AppInstance.objects.create(subdomain=subdomain, domain=domain, **values)

    return _make


@contextlib.contextmanager
def ldap_directory_process(port: int, host: str | None = None):
    """Hearth's LDAP server as its own process on the test database, as supervisord runs it."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "panel.settings_test",
        "DATABASE_URL": _database_url(),
        "HEARTH_LDAP_PORT": str(port),
    }
    log_path = Path(settings.HEARTH_HOME) / f"test-ldap-{port}.log"
    command = [sys.executable, "manage.py", "runldapserver", *(["--host", host] if host else [])]
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log_path.read_text()[-2000:]
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def panel_at_bind(django_db_setup, django_db_blocker):
    """The panel under daphne where Hearth's nginx expects it (settings.HEARTH_PANEL_BIND):
    the login wall's checks and the dashboard site proxy there. Per module: other tests
    expect nothing to answer there."""
    from tests.fixtures_monitoring import PanelServer

    with django_db_blocker.unblock():
        server = PanelServer(_database_url(), port=int(settings.HEARTH_PANEL_BIND.rsplit(":")[1]))
    yield server
    server.stop()
