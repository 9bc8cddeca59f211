"""Hearth's nftables firewall, loaded into a network namespace made by the test: a client in
a second namespace reaches exactly the open ports."""

from __future__ import annotations

import io
import os
import secrets
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from panel.domains.firewall import (
    FirewallError,
    OpenPorts,
    app_ports,
    apply_ruleset,
    render_ruleset,
)
from panel.domains.host_firewall import reapply_if_managed, ruleset_path, sshd_ports_in

LISTENER = """
import socket, sys, threading
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen()
    while True:
        c, _ = s.accept(); c.sendall(b"hi"); c.close()
for p in sys.argv[1:]:
    threading.Thread(target=serve, args=(int(p),), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"""

PROBE = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
    print("open")
except OSError:
    print("closed")
"""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def namespaces():
    """A server and a client namespace joined by a veth pair (names unique per session)."""
    tag = f"{os.getpid() % 10000}{secrets.token_hex(2)}"
    server, client = f"hsrv{tag}", f"hcli{tag}"
    octet = secrets.randbelow(200) + 20
    server_ip, client_ip = f"10.213.{octet}.1", f"10.213.{octet}.2"
    ip("netns", "add", server)
    ip("netns", "add", client)
    try:
        ip("link", "add", f"hs{tag}", "type", "veth", "peer", "name", f"hc{tag}")
        ip("link", "set", f"hs{tag}", "netns", server)
        ip("link", "set", f"hc{tag}", "netns", client)
        for ns, dev, address in ((server, f"hs{tag}", server_ip), (client, f"hc{tag}", client_ip)):
            ip("-n", ns, "addr", "add", f"{address}/24", "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")
            ip("-n", ns, "link", "set", "lo", "up")
        yield server, client, server_ip
    finally:
        ip("netns", "del", server)
        ip("netns", "del", client)


def reachable(client: str, address: str, port: int) -> bool:
    out = subprocess.run(
        ["ip", "netns", "exec", client, sys.executable, "-c", PROBE, address, str(port)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.strip() == "open"


def test_ruleset_drops_by_default_and_opens_only_the_listed_ports():
    text = render_ruleset(OpenPorts(tcp=frozenset({443, 22, 80}), udp=frozenset({51820})))
    assert "policy drop;" in text
    assert "tcp dport { 22, 80, 443 } accept" in text
    assert "udp dport { 51820 } accept" in text
    assert "delete table inet hearth" in text
    with pytest.raises(FirewallError):
        render_ruleset(OpenPorts(tcp=frozenset({70000})))


def test_the_ports_apps_chose_are_opened_not_their_defaults():
    manifests = [
        (
            {"tcpPorts": {"SSH_PORT": {"title": "Git SSH", "defaultValue": 2222}}},
            {"SSH_PORT": 2022},
        ),
        ({"udpPorts": {"VPN": {"title": "VPN", "defaultValue": 51820}}}, {"VPN": 51821}),
        ({"tcpPorts": {"UNUSED": {"title": "Not published", "defaultValue": 4000}}}, {}),
        ({}, {}),
    ]
    assert app_ports(manifests) == OpenPorts(tcp=frozenset({2022}), udp=frozenset({51821}))


def test_a_client_reaches_exactly_the_open_ports(namespaces):
    server, client, server_ip = namespaces
    ports = [22, 80, 443, 2222, 8080, 5432]
    listener = subprocess.Popen(
        ["ip", "netns", "exec", server, sys.executable, "-c", LISTENER, *map(str, ports)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stdout.readline().strip() == "ready"
        # Before: nothing filters.
        assert all(reachable(client, server_ip, p) for p in ports)
        apply_ruleset(render_ruleset(OpenPorts(tcp=frozenset({22, 80, 443, 2222}))), netns=server)
        open_now = {p for p in ports if reachable(client, server_ip, p)}
        assert open_now == {22, 80, 443, 2222}
        # Loading again replaces the table instead of adding to it.
        apply_ruleset(render_ruleset(OpenPorts(tcp=frozenset({22}))), netns=server)
        assert {p for p in ports if reachable(client, server_ip, p)} == {22}
        # Inside the server itself (loopback) everything still works.
        inside = subprocess.run(
            ["ip", "netns", "exec", server, sys.executable, "-c", PROBE, "127.0.0.1", "8080"],
            capture_output=True,
            text=True,
        ).stdout
        assert inside.strip() == "open"
    finally:
        listener.kill()
        listener.wait(timeout=5)


@pytest.mark.django_db
def test_applyfirewall_opens_ssh_web_and_app_ports(namespaces, domain, settings):
    from panel.core.models import AppInstance

    server, client, server_ip = namespaces
    settings.HEARTH_HTTP_LISTEN, settings.HEARTH_HTTPS_LISTEN = "80", "443"
    AppInstance.objects.create(
        title="Git",
        version="1",
        manifest={"tcpPorts": {"SSH_PORT": {"title": "Git SSH", "defaultValue": 2022}}},
        host_ports={"SSH_PORT": 2222},
        image="x",
        subdomain="git",
        domain=domain,
        memory_limit=1,
    )
    listener = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            server,
            sys.executable,
            "-c",
            LISTENER,
            "22",
            "80",
            "443",
            "2222",
            "9000",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stdout.readline().strip() == "ready"
        out = io.StringIO()
        call_command("applyfirewall", netns=server, stdout=out)
        # It says what it loaded, and why each port is open.
        assert f"Firewall loaded into network namespace {server}" in out.getvalue()
        assert "22 (SSH)" in out.getvalue() and "2222 (git: SSH_PORT)" in out.getvalue()
        assert "everything else inbound is dropped" in out.getvalue()
        # App containers reach the dashboard's internal listener through their bridge only.
        internal = settings.HEARTH_INTERNAL_LISTEN.rsplit(":", 1)[-1]
        assert "open to app containers only: " in out.getvalue()
        assert internal in out.getvalue().split("open to app containers only: ")[1]
        assert {p for p in (22, 80, 443, 2222, 9000) if reachable(client, server_ip, p)} == {
            22,
            80,
            443,
            2222,
        }
    finally:
        listener.kill()
        listener.wait(timeout=5)


def test_host_services_for_apps_are_open_to_app_bridges_only():
    text = render_ruleset(OpenPorts(tcp=frozenset({22, 80}), app_tcp=frozenset({2525, 3890})))
    assert 'iifname "hb*" tcp dport { 2525, 3890 } accept' in text
    assert "tcp dport { 22, 80 } accept" in text


@pytest.mark.django_db
def test_a_test_session_never_loads_the_host_firewall():
    with pytest.raises(CommandError, match="HEARTH_FIREWALL_ON_HOST"):
        call_command("applyfirewall")
    assert not ruleset_path().exists()
    assert reapply_if_managed().startswith("the host firewall is not managed")


def test_the_port_sshd_listens_on_stays_open_whatever_the_settings_say():
    ss = (
        'LISTEN 0 128 0.0.0.0:2200 0.0.0.0:* users:(("sshd",pid=812,fd=3))\n'
        'LISTEN 0 128 [::]:2200 [::]:* users:(("sshd",pid=812,fd=4))\n'
        'LISTEN 0 511 127.0.0.1:6379 0.0.0.0:* users:(("redis-server",pid=9,fd=6))\n'
    )
    assert sshd_ports_in(ss) == {2200}


@pytest.mark.django_db
def test_the_managed_firewall_follows_apps_ports_installed_changed_and_removed(
    namespaces, make_app, settings, django_capture_on_commit_callbacks
):
    from panel.core.models import AppInstance
    from panel.domains.app_settings import change_host_ports

    server, client, server_ip = namespaces
    settings.HEARTH_FIREWALL_NETNS = server
    settings.HEARTH_SSH_PORT = 22
    manifest = {"tcpPorts": {"ECHO_PORT": {"title": "Echo", "defaultValue": 7000}}}
    listener = subprocess.Popen(
        ["ip", "netns", "exec", server, sys.executable, "-c", LISTENER, "22", "7000", "7100"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stdout.readline().strip() == "ready"
        assert reapply_if_managed().startswith("the host firewall is not managed")
        call_command("applyfirewall", stdout=io.StringIO())  # what `hearth up` does
        assert ruleset_path().exists()
        assert not reachable(client, server_ip, 7000)

        # Installed with a port: the firewall is loaded again once the row commits.
        with django_capture_on_commit_callbacks(execute=False) as queued:
            app = make_app("echo", manifest=manifest, host_ports={"ECHO_PORT": 7000})
        assert len(queued) == 1
        assert "7000 (echo: ECHO_PORT)" in reapply_if_managed()
        assert reachable(client, server_ip, 7000)

        # Moved to another port: the old one closes, the new one opens.
        with django_capture_on_commit_callbacks(execute=False) as queued:
            change_host_ports(app, {"ECHO_PORT": 7100})
        assert len(queued) >= 2  # the restart task, and the firewall
        reapply_if_managed()
        assert not reachable(client, server_ip, 7000) and reachable(client, server_ip, 7100)

        # Uninstalled (the task deletes the row): closed again; SSH stayed open throughout.
        with django_capture_on_commit_callbacks(execute=False) as queued:
            AppInstance.objects.filter(pk=app.pk).first().delete()
        assert len(queued) == 1
        reapply_if_managed()
        assert not reachable(client, server_ip, 7100) and reachable(client, server_ip, 22)

        # An app without ports changes nothing, so nothing is queued.
        with django_capture_on_commit_callbacks(execute=False) as queued:
            make_app("plain")
        assert queued == []
    finally:
        ruleset_path().unlink(missing_ok=True)
        listener.kill()
        listener.wait(timeout=5)


@pytest.mark.django_db
def test_a_failed_reload_keeps_the_old_rules_and_is_in_the_event_log(settings):
    from panel.core.models import Event

    settings.HEARTH_FIREWALL_NETNS = f"hearth-missing-{secrets.token_hex(3)}"
    ruleset_path().write_text("# loaded earlier\n")
    try:
        with pytest.raises(FirewallError):
            reapply_if_managed()
    finally:
        ruleset_path().unlink()
    event = Event.objects.get(action="firewall")
    assert event.outcome == "failed" and "the previous rules stay" in event.message
