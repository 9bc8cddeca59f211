"""Host ports for apps that declare tcpPorts/udpPorts: which the owner may choose, and the
check that refuses ports Hearth itself uses, ports of other apps and ports already bound.

Errors are keyed `host_ports.<VARIABLE>`, the name of the install form's field (and of the
API's field), so each lands next to the port it is about.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from panel.domains.firewall import listen_port

LOWEST_PORT = 1024
HIGHEST_PORT = 65535
FIELD_PREFIX = "host_ports."


@dataclass(frozen=True)
class DeclaredPort:
    """A port from the manifest, as the install form shows it."""

    name: str
    protocols: tuple[str, ...]
    title: str
    description: str
    default: int
    count: int

    @property
    def field(self) -> str:
        return f"{FIELD_PREFIX}{self.name}"


def declared_ports(manifest: Mapping) -> list[DeclaredPort]:
    """tcpPorts and udpPorts merged by variable name (a name in both is one port, both ways)."""
    found: dict[str, DeclaredPort] = {}
    for protocol, key in (("tcp", "tcpPorts"), ("udp", "udpPorts")):
        for name, spec in (manifest.get(key) or {}).items():
            if name in found:
                previous = found[name]
                found[name] = DeclaredPort(
                    name,
                    (*previous.protocols, protocol),
                    previous.title,
                    previous.description,
                    previous.default,
                    max(previous.count, int(spec.get("portCount") or 1)),
                )
                continue
            found[name] = DeclaredPort(
                name=name,
                protocols=(protocol,),
                title=spec.get("title") or name,
                description=spec.get("description") or "",
                default=int(spec["defaultValue"]),
                count=int(spec.get("portCount") or 1),
            )
    return list(found.values())


def _port_of(address: str) -> int | None:
    try:
        return listen_port(address) if address else None
    except ValueError:
        return None


def hearth_ports() -> dict[int, str]:
    """Host ports Hearth and its services use, with what uses them (read from settings)."""
    from addons.ldap.addon import ldap_port
    from addons.sendmail.relay import relay_port

    used: dict[int, str] = {80: "HTTP", 443: "HTTPS", settings.HEARTH_SSH_PORT: "SSH"}
    named = [
        (settings.HEARTH_HTTP_LISTEN, "Hearth's HTTP listener"),
        (getattr(settings, "HEARTH_HTTPS_LISTEN", ""), "Hearth's HTTPS listener"),
        (getattr(settings, "HEARTH_INTERNAL_LISTEN", ""), "Hearth's internal dashboard listener"),
        (settings.HEARTH_PANEL_BIND, "the Hearth dashboard"),
        (settings.HEARTH_REGISTRY, "the image registry"),
    ]
    for address, what in named:
        port = _port_of(address)
        if port is not None:
            used.setdefault(port, what)
    redis_port = urlsplit(settings.REDIS_URL).port or 6379
    used.setdefault(redis_port, "Redis")
    used.setdefault(ldap_port(), "the LDAP directory")
    used.setdefault(relay_port(), "the mail relay")
    for port in getattr(settings, "HEARTH_FIREWALL_EXTRA_TCP", []):
        used.setdefault(int(port), "mail")
    return used


def ports_of_other_apps(exclude_app_id=None) -> dict[tuple[str, int], str]:
    """(protocol, host port) → "<app> (<VARIABLE>)" for every port another app holds."""
    from panel.core.models import AppInstance
    from panel.runtime.spec import published_ports

    taken: dict[tuple[str, int], str] = {}
    apps = AppInstance.objects.exclude(host_ports={}).select_related("domain")
    if exclude_app_id is not None:
        apps = apps.exclude(pk=exclude_app_id)
    for app in apps:
        for port in published_ports(app.manifest, app.host_ports or {}):
            for number in port.host_range:
                taken[(port.protocol, number)] = f"{app.title} at {app.fqdn} ({port.name})"
    return taken


def port_is_bound(protocol: str, port: int) -> bool:
    """Whether something on this host already listens on the port (any address)."""
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    for family, address in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):  # noqa: S104
        try:
            probe = socket.socket(family, kind)
        except OSError:  # no IPv6 on this host
            continue
        with probe:
            if kind == socket.SOCK_STREAM:
                # Connections in TIME_WAIT do not make a port busy; only listeners do.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind((address, port))
            except OSError as exc:
                # Anything else (no IPv6 address, no right to a low port) says nothing about
                # another program holding it; Docker reports those when it publishes.
                if exc.errno == errno.EADDRINUSE:
                    return True
    return False


def _as_port(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def check_host_ports(
    manifest: Mapping, requested: Mapping[str, object] | None, *, app=None
) -> tuple[dict[str, int], dict[str, str]]:
    """The host ports to use ({VARIABLE: port}) and field errors, empty when all are fine.

    Ports left out of `requested` get the manifest's default. `app` is the app whose ports
    change: its own current ports count as free (its container holds them).
    """
    declared = declared_ports(manifest)
    requested = dict(requested or {})
    errors: dict[str, str] = {}
    unknown = sorted(set(requested) - {port.name for port in declared})
    if unknown:
        known = ", ".join(port.name for port in declared) or "none"
        errors["host_ports"] = (
            f"{', '.join(unknown)}: not a port this app declares (it declares: {known})."
        )
    chosen: dict[str, int] = {}
    reserved = hearth_ports()
    others = ports_of_other_apps(app.pk if app is not None else None)
    current = (app.host_ports or {}) if app is not None else {}
    own = {
        (protocol, number)
        for port in declared
        if port.name in current
        for protocol in port.protocols
        for number in range(int(current[port.name]), int(current[port.name]) + port.count)
    }
    mine_so_far: dict[tuple[str, int], str] = {}
    for port in declared:
        value = requested.get(port.name, port.default)
        number = _as_port(value)
        if number is None:
            errors[port.field] = f"{port.title}: enter a port number (for example {port.default})."
            continue
        problem = _problem(port, number, reserved, others, own, mine_so_far)
        if problem:
            errors[port.field] = f"{port.title}: {problem}"
            continue
        chosen[port.name] = number
        for protocol in port.protocols:
            for each in range(number, number + port.count):
                mine_so_far[(protocol, each)] = port.title
    return chosen, errors


def suggested_host_ports(manifest: Mapping) -> dict[str, int]:
    """Free host ports for a second copy of an app (a clone, an import): the manifest's
    default where free, else the next free number above it."""
    declared = declared_ports(manifest)
    reserved = hearth_ports()
    others = ports_of_other_apps()
    mine_so_far: dict[tuple[str, int], str] = {}
    suggested: dict[str, int] = {}
    for port in declared:
        for number in range(port.default, HIGHEST_PORT - port.count + 2):
            if not _problem(port, number, reserved, others, set(), mine_so_far):
                suggested[port.name] = number
                for protocol in port.protocols:
                    for each in range(number, number + port.count):
                        mine_so_far[(protocol, each)] = port.title
                break
    return suggested


def _problem(
    port: DeclaredPort,
    number: int,
    reserved: dict[int, str],
    others: dict[tuple[str, int], str],
    own: set[tuple[str, int]],
    mine_so_far: dict[tuple[str, int], str],
) -> str:
    last = number + port.count - 1
    # Below 1024 only where the packager asked for it (a DNS server wants 53).
    lowest = min(LOWEST_PORT, port.default)
    for each in range(number, last + 1):
        if each in reserved:
            return f"port {each} is used by {reserved[each]}; choose another."
    if number < lowest or last > HIGHEST_PORT:
        span = "" if port.count == 1 else f" ({port.count} consecutive ports)"
        return f"choose a port between {lowest} and {HIGHEST_PORT - port.count + 1}{span}."
    for protocol in port.protocols:
        for each in range(number, last + 1):
            if (protocol, each) in others:
                return f"{protocol} port {each} is already used by {others[(protocol, each)]}."
            if (protocol, each) in mine_so_far:
                return f"{protocol} port {each} is also chosen for {mine_so_far[(protocol, each)]}."
    for protocol in port.protocols:
        for each in range(number, last + 1):
            if (protocol, each) not in own and port_is_bound(protocol, each):
                return (
                    f"{protocol} port {each} is already in use on this server "
                    f"(another program listens on it); choose another."
                )
    return ""


def port_summary(app) -> list[tuple[DeclaredPort, int | None]]:
    """Each declared port of an installed app with its host port (None: not published)."""
    return [(port, (app.host_ports or {}).get(port.name)) for port in declared_ports(app.manifest)]
