"""This host's firewall as Hearth wants it: which ports are open and why, loading it, and
loading it again when apps' ports change — only on a host where `hearth up` put it in place.

`hearth up` runs `manage.py applyfirewall`, which keeps the ruleset it loaded in
HEARTH_HOME/firewall.nft. That file is what "the firewall is managed here" means: a test
session (its own HEARTH_HOME) or a development checkout never touches the host's firewall.
"""

from __future__ import annotations

import logging
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from panel.domains.firewall import (
    FirewallError,
    OpenPorts,
    apply_ruleset,
    listen_port,
    render_ruleset,
)

log = logging.getLogger(__name__)


@dataclass
class FirewallPlan:
    """The open ports, each with what it is open for (shown by applyfirewall)."""

    tcp: dict[int, str] = field(default_factory=dict)
    udp: dict[int, str] = field(default_factory=dict)
    app_tcp: frozenset[int] = frozenset()

    def open_ports(self) -> OpenPorts:
        return OpenPorts(
            tcp=frozenset(self.tcp), udp=frozenset(self.udp), app_tcp=frozenset(self.app_tcp)
        )

    def describe(self) -> str:
        def listing(ports: dict[int, str]) -> str:
            return ", ".join(f"{port} ({why})" for port, why in sorted(ports.items())) or "none"

        lines = [f"open tcp: {listing(self.tcp)}", f"open udp: {listing(self.udp)}"]
        if self.app_tcp:
            lines.append(
                "open to app containers only: " + ", ".join(map(str, sorted(self.app_tcp)))
            )
        lines.append("everything else inbound is dropped (loopback and replies pass)")
        return "\n".join(lines)


def ruleset_path() -> Path:
    return Path(settings.HEARTH_HOME) / "firewall.nft"


def is_managed() -> bool:
    on_host = getattr(settings, "HEARTH_FIREWALL_ON_HOST", True)
    return (on_host or managed_netns() is not None) and ruleset_path().exists()


_SSHD = re.compile(r":(\d+)\s.*users:\(\(\"sshd\"")


def sshd_ports() -> set[int]:
    """Ports sshd listens on now: kept open even if HEARTH_SSH_PORT is wrong, so loading the
    firewall can never lock the owner out of an SSH server on another port."""
    try:
        out = subprocess.run(
            ["ss", "-H", "-tlnp"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return set()
    return sshd_ports_in(out)


def sshd_ports_in(ss_output: str) -> set[int]:
    """The ports sshd listens on, from `ss -H -tlnp` output."""
    return {int(m.group(1)) for line in ss_output.splitlines() if (m := _SSHD.search(line))}


def firewall_plan() -> FirewallPlan:
    from panel.core.models import AppInstance
    from panel.runtime.firewall import ports_open_to_apps
    from panel.runtime.spec import published_ports

    plan = FirewallPlan()
    plan.tcp[settings.HEARTH_SSH_PORT] = "SSH"
    for port in sshd_ports():
        plan.tcp.setdefault(port, "SSH (sshd listens here)")
    plan.tcp.setdefault(listen_port(settings.HEARTH_HTTP_LISTEN), "HTTP")
    if settings.HEARTH_HTTPS_LISTEN:
        plan.tcp.setdefault(listen_port(settings.HEARTH_HTTPS_LISTEN), "HTTPS")
    for port in settings.HEARTH_FIREWALL_EXTRA_TCP:
        plan.tcp.setdefault(int(port), "HEARTH_FIREWALL_EXTRA_TCP")
    for app in AppInstance.objects.exclude(host_ports={}).select_related("domain"):
        for port in published_ports(app.manifest, app.host_ports or {}):
            target = plan.tcp if port.protocol == "tcp" else plan.udp
            for number in port.host_range:
                target.setdefault(number, f"{app.subdomain}: {port.name}")
    # Apps reach the dashboard (OIDC back channel) through their gateway on this port.
    internal = listen_port(settings.HEARTH_INTERNAL_LISTEN or settings.HEARTH_HTTP_LISTEN)
    plan.app_tcp = frozenset({*ports_open_to_apps(), internal} - set(plan.tcp))
    return plan


def managed_netns() -> str | None:
    """The network namespace whose firewall Hearth owns (HEARTH_FIREWALL_NETNS), or None for
    the host's own."""
    return getattr(settings, "HEARTH_FIREWALL_NETNS", "") or None


def apply_host_firewall(netns: str | None = None) -> FirewallPlan:
    """Load the ruleset where Hearth's firewall lives (or into `netns`, a one-off) and, in
    the first case, remember it: that marks the firewall as Hearth's to load again when
    apps' ports change."""
    managed = netns is None
    netns = netns or managed_netns()
    if netns is None and not getattr(settings, "HEARTH_FIREWALL_ON_HOST", True):
        raise FirewallError("these settings never load the host's firewall (tests)")
    plan = firewall_plan()
    text = render_ruleset(plan.open_ports())
    apply_ruleset(text, netns=netns)
    if managed:
        path = ruleset_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return plan


def reapply_if_managed() -> str:
    """After apps' ports changed: load the firewall again if this host's is Hearth's."""
    if not is_managed():
        return "the host firewall is not managed by this Hearth; nothing to do"
    try:
        return apply_host_firewall().describe()
    except FirewallError as exc:
        from panel.core.events import record_event
        from panel.core.models import Event

        # In the event log, where admins look: apps' new ports stay closed until it works.
        message = f"loading the firewall failed, the previous rules stay: {exc}"
        log.error(message)
        record_event("firewall", outcome=Event.Outcome.FAILED, message=message)
        raise


def reapply_on_commit() -> None:
    """Queue a re-apply once the change that calls this commits (a no-op where unmanaged)."""
    from panel.domains.tasks import reapply_firewall

    transaction.on_commit(lambda: reapply_firewall.delay())
