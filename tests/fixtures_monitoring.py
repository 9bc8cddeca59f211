"""Fixtures of the monitoring tests: app rows with hand-made containers (a logger, a crasher,
a memory hog), a real SMTP server, and the panel served over HTTP by daphne."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def base_image(docker_runtime) -> str:
    from panel.runtime.base_image import ensure_base_image

    reference, _ = ensure_base_image(docker_runtime.client, settings.HEARTH_REGISTRY)
    return reference


@pytest.fixture
def app_with_container(domain, docker_runtime, base_image):
    """make(command, **docker options) -> an AppInstance row whose container runs `command`.

    The container is named, labelled and networked exactly like an installed app's, with the
    platform's log driver settings, so the code under test cannot tell the difference.
    """
    from panel.core.models import AppInstance
    from panel.runtime.spec import LOG_CONFIG, app_resource_names, build_container_spec

    made = []

    def make(
        command: str,
        subdomain: str = "mon",
        memory: int = 64 * 1024 * 1024,
        manifest: dict | None = None,
        **options,
    ):
        app = AppInstance.objects.create(
            store_app_id="io.hearth.test",
            title=subdomain.capitalize(),
            version="1.0.0",
            manifest={"healthCheckPath": "/healthz", "httpPort": 8000, **(manifest or {})},
            image=base_image,
            subdomain=subdomain,
            domain=domain,
            memory_limit=memory,
            state="running",
        )
        names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
        docker_runtime.ensure_network(names, app.id.hex)
        spec = build_container_spec(
            instance=settings.HEARTH_INSTANCE,
            app_hex_id=app.id.hex,
            image=base_image,
            fqdn=app.fqdn,
            http_port=8000,
            memory_limit=memory,
        )
        kwargs = spec.docker_create_kwargs()
        kwargs.update(command=["sh", "-c", command], log_config=LOG_CONFIG, **options)
        kwargs.pop("volumes")
        container = docker_runtime.client.containers.run(**kwargs)
        made.append(app)
        return app, container

    yield make
    for app in made:
        docker_runtime.remove_app(app.id.hex)


class SmtpInbox:
    """A real SMTP server (aiosmtpd) on a free loopback port, keeping what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        from email import message_from_bytes

        message = message_from_bytes(envelope.content)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def wait_for(self, predicate, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for rcpt, message in self.messages:
                if predicate(rcpt, message):
                    return rcpt, message
            time.sleep(0.05)
        raise AssertionError(f"no such mail; received: {[m['Subject'] for _, m in self.messages]}")


@pytest.fixture
def smtp_inbox(settings):
    inbox = SmtpInbox()
    inbox.controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = inbox.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield inbox
    inbox.controller.stop()


class PanelServer:
    """The panel under daphne on a free port, on the test database: real HTTP and websockets."""

    def __init__(self, database_url: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(settings.HEARTH_HOME) / "test-panel.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "panel.settings_test",
            "DATABASE_URL": database_url,
        }
        # Served from STATIC_ROOT as in production (whitenoise), so collect into this
        # session's own folder first.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "panel.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url}/accounts/login/", timeout=2)
                return
            except requests.ConnectionError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        pytest.fail(f"daphne did not start; see {self.log_path}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="session")
def panel_server(django_db_setup, django_db_blocker):
    from tests.conftest import _database_url

    with django_db_blocker.unblock():
        server = PanelServer(_database_url())
    yield server
    server.stop()
