"""Host ports opened to app containers can be closed again, and a test session knows the
ones it opened itself (it closes them when it ends, so the shared chain does not grow)."""

from __future__ import annotations

import os
import socket

from django.conf import settings

from panel.runtime.firewall import (
    allow_app_to_host_port,
    close_app_to_host_port,
    close_unused_app_ports,
    ports_open_to_apps,
)


def test_a_port_opened_to_apps_is_closed_again():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    allow_app_to_host_port(port)
    allow_app_to_host_port(port)  # idempotent: one rule
    try:
        assert port in ports_open_to_apps()
    finally:
        close_app_to_host_port(port)
    assert port not in ports_open_to_apps()


def test_the_session_closes_only_the_ports_it_picked_itself():
    internal = int(settings.HEARTH_INTERNAL_LISTEN.rsplit(":", 1)[-1])
    ldap = int(os.environ["HEARTH_LDAP_PORT"])
    assert settings.HEARTH_TEST_SESSION_PORTS  # picked here unless given from outside
    assert set(settings.HEARTH_TEST_SESSION_PORTS) <= {internal, ldap}


def test_ports_nothing_listens_on_are_closed_and_listened_ones_kept():
    with socket.socket() as listener, socket.socket() as unused:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        unused.bind(("127.0.0.1", 0))
        live, stale = listener.getsockname()[1], unused.getsockname()[1]
        allow_app_to_host_port(live)
        allow_app_to_host_port(stale)
        try:
            closed = close_unused_app_ports()
            assert stale in closed and live not in closed
            assert live in ports_open_to_apps() and stale not in ports_open_to_apps()
        finally:
            close_app_to_host_port(live)
            close_app_to_host_port(stale)
