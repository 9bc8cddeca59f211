"""The host firewall Hearth owns (nftables): everything inbound is dropped except SSH, HTTP,
HTTPS and the ports apps declare. Rendering is a pure function; applying runs `nft`.

Only Hearth's own table (`inet hearth`) is replaced, atomically, so rules other software
keeps in its own tables (Docker's, for instance) are left alone.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from panel.runtime.spec import published_ports

TABLE = "hearth"


class FirewallError(Exception):
    pass


@dataclass(frozen=True)
class OpenPorts:
    tcp: frozenset[int]
    udp: frozenset[int] = frozenset()
    # Host services only app containers may reach, through their own bridges (hb*): the mail
    # relay and the LDAP directory. The runtime's iptables chain allows exactly these too.
    app_tcp: frozenset[int] = frozenset()


def _port_set(ports: Iterable[int]) -> str:
    checked = sorted({int(p) for p in ports})
    if any(not 0 < p < 65536 for p in checked):
        raise FirewallError(f"not a port number in {checked}")
    return "{ " + ", ".join(map(str, checked)) + " }"


def render_ruleset(ports: OpenPorts) -> str:
    """nft input: a table that replaces Hearth's previous one in one transaction."""
    extra = f"        udp dport {_port_set(ports.udp)} accept\n" if ports.udp else ""
    if ports.app_tcp:
        extra += f'        iifname "hb*" tcp dport {_port_set(ports.app_tcp)} accept\n'
    return f"""\
# Written by Hearth; changes are overwritten.
table inet {TABLE}
delete table inet {TABLE}
table inet {TABLE} {{
    chain input {{
        type filter hook input priority filter; policy drop;
        ct state established,related accept
        ct state invalid drop
        iifname "lo" accept
        meta l4proto {{ icmp, ipv6-icmp }} accept
        tcp dport {_port_set(ports.tcp)} accept
{extra}    }}
}}
"""


def apply_ruleset(text: str, netns: str | None = None) -> None:
    """Load the ruleset (into a network namespace's firewall when `netns` is given)."""
    command = ["nft", "-f", "-"]
    if netns:
        command = ["ip", "netns", "exec", netns, *command]
    result = subprocess.run(command, input=text, capture_output=True, text=True)
    if result.returncode != 0:
        raise FirewallError(result.stderr.strip() or f"nft exited {result.returncode}")


def app_ports(apps: Iterable[tuple[dict, dict]]) -> OpenPorts:
    """The host ports apps publish, from each app's (manifest, host_ports): exactly the
    ports the owner chose at install (or later), every port of a portCount range."""
    tcp: set[int] = set()
    udp: set[int] = set()
    for manifest, host_ports in apps:
        for port in published_ports(manifest or {}, host_ports or {}):
            (tcp if port.protocol == "tcp" else udp).update(port.host_range)
    return OpenPorts(tcp=frozenset(tcp), udp=frozenset(udp))


def listen_port(listen: str) -> int:
    return int(listen.rsplit(":", 1)[-1])
