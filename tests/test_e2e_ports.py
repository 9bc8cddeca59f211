"""Host ports end to end: an app with a TCP and a UDP port installed from the dashboard's
form, reached through the host ports it publishes, moved to another port from the app page,
and a second install asking for a taken port refused with the field named."""

from __future__ import annotations

import socket
import time

import pytest
from django.urls import reverse

from panel.core.models import AppInstance, Task
from panel.core.services import request_app_action
from tests.conftest import fetch, wait_for_task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("0.0.0.0", 0))  # noqa: S104
        return probe.getsockname()[1]


def talk_tcp(port: int, line: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
                conn.sendall(line.encode() + b"\n")
                return conn.makefile().readline().strip()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def talk_udp(port: int, data: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        for _ in range(10):
            sock.sendto(data, ("127.0.0.1", port))
            try:
                return sock.recv(1024)
            except TimeoutError:
                continue
    raise AssertionError(f"no UDP answer on port {port}")


def tcp_refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
            conn.sendall(b"anyone?\n")
            return conn.makefile().readline() == ""
    except OSError:
        return True


def test_app_ports_are_published_changed_and_guarded(worker, publish, domain, owner_client):
    publish("tcpecho")
    install_url = reverse("apps_store:install", args=["io.hearth.test.tcpecho"])
    tcp, udp = free_port(), free_port(socket.SOCK_DGRAM)
    response = owner_client.post(
        install_url,
        {
            "subdomain": "echo",
            "domain": domain.pk,
            "host_ports.ECHO_PORT": tcp,
            "host_ports.UDP_ECHO_PORT": udp,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    app = AppInstance.objects.get(subdomain="echo")
    task = wait_for_task(app.tasks.get().pk, timeout=180)
    assert task.state == Task.State.SUCCEEDED, task.error
    app.refresh_from_db()
    assert app.host_ports == {"ECHO_PORT": tcp, "UDP_ECHO_PORT": udp}

    # Clients reach the app on the host ports; it was told the TCP one (it listens there).
    assert talk_tcp(tcp, "hello") == "echo hello"
    assert talk_udp(udp, b"ping") == b"echo ping"
    assert fetch(app.fqdn, "/healthz").text == f"ECHO_PORT={tcp}\n"
    page = owner_client.get(reverse("core:app_detail", args=[app.pk])).content.decode()
    assert f"<td>{tcp}</td>" in page and "<code>ECHO_PORT</code>" in page

    # Another install asking for the same port: refused, the field named, nothing created.
    response = owner_client.post(
        install_url,
        {
            "subdomain": "echo2",
            "domain": domain.pk,
            "host_ports.ECHO_PORT": tcp,
            "host_ports.UDP_ECHO_PORT": free_port(socket.SOCK_DGRAM),
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["host_ports.ECHO_PORT"] == [
        f"Echo: tcp port {tcp} is already used by Echo Test App at echo.localhost (ECHO_PORT)."
    ]
    assert AppInstance.objects.count() == 1

    # Moved to another port from the app page: the container is recreated there.
    moved = free_port()
    response = owner_client.post(
        reverse("domains:app_ports", args=[app.pk]),
        {"host_ports.ECHO_PORT": moved, "host_ports.UDP_ECHO_PORT": udp},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    task = wait_for_task(app.tasks.order_by("-pk").first().pk, timeout=180)
    assert task.state == Task.State.SUCCEEDED, task.error
    assert "Recreating the container" in task.log
    assert talk_tcp(moved, "again") == "echo again"
    assert tcp_refused(tcp)
    assert fetch(app.fqdn, "/healthz").text == f"ECHO_PORT={moved}\n"

    # A port another program holds is refused on the app page too, and nothing changes.
    with socket.socket() as squatter:
        squatter.bind(("0.0.0.0", 0))  # noqa: S104
        squatter.listen()
        taken = squatter.getsockname()[1]
        response = owner_client.post(
            reverse("domains:app_ports", args=[app.pk]),
            {"host_ports.ECHO_PORT": taken, "host_ports.UDP_ECHO_PORT": udp},
        )
    assert response.status_code == 400
    assert "already in use on this server" in response.content.decode()
    app.refresh_from_db()
    assert app.host_ports["ECHO_PORT"] == moved

    # Uninstalled: the port is free again.
    task = wait_for_task(request_app_action(app, "uninstall").pk, timeout=120)
    assert task.state == Task.State.SUCCEEDED, task.error
    assert tcp_refused(moved)
