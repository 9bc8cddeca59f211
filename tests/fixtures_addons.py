"""Fixtures of the addons' end-to-end tests: the shared service containers and the mail relay,
once per session, and the small probe apps the tests install."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Set before any fixture starts the worker, which inherits the environment: the test relay must
# not collide with a live platform's relay, nor with another test session's.
os.environ.setdefault("HEARTH_MAIL_RELAY_PORT", str(_free_port()))

ROOT = Path(__file__).resolve().parent.parent
ADDON_PACKAGES = Path(__file__).resolve().parent / "addon_packages"


@pytest.fixture(scope="session")
def addon_services(django_db_setup, django_db_blocker, docker_runtime):
    """MariaDB and PostgreSQL service containers of the test instance (one of each)."""
    from addons.registry import all_addons
    from addons.services import start_addon_services
    from panel.runtime import services as runtime_services

    with django_db_blocker.unblock():
        start_addon_services()
    yield True
    # Each session has an instance name of its own: its services' data goes with it.
    volumes = []
    for addon in all_addons():
        for container in addon.service_containers():
            runtime_services.remove_service(container, volumes=(f"{container}-data",))
            volumes.append(f"{container}-data")
    network = f"{settings.HEARTH_INSTANCE}-addons"
    with contextlib.suppress(Exception):
        docker_runtime.client.networks.get(network).remove()


@pytest.fixture(scope="session")
def mail_relay(django_db_setup, django_db_blocker):
    """The host's SMTP relay as its own process on the test database, as supervisord runs it.

    Yields the Maildir the relay keeps mail in.
    """
    from addons.sendmail.relay import relay_port
    from tests.conftest import _database_url

    with django_db_blocker.unblock():
        database_url = _database_url()
    outbox = Path(settings.HEARTH_HOME) / "mail" / "outbox"
    log_path = Path(settings.HEARTH_HOME) / "test-mailrelay.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "panel.settings_test",
        "DATABASE_URL": database_url,
    }
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runmailrelay"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        try:
            wait_for_port("127.0.0.1", relay_port())
        except AssertionError as exc:
            raise AssertionError(f"{exc}; relay log:\n{log_path.read_text()[-3000:]}") from None
        yield outbox
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def built_addon_packages(docker_runtime):
    from apps_store.services import build_package

    return {folder.name: (folder, *build_package(folder)) for folder in ADDON_PACKAGES.iterdir()}


@pytest.fixture
def publish_addon_package(built_addon_packages):
    from apps_store.services import record_release

    def _publish(name: str):
        folder, manifest, tag, digest = built_addon_packages[name]
        return record_release(folder, manifest, tag, digest)

    return _publish


def wait_for_port(host: str, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {host}:{port} after {timeout}s")
