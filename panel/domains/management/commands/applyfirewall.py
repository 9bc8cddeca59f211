from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from panel.domains.firewall import FirewallError, render_ruleset
from panel.domains.host_firewall import (
    apply_host_firewall,
    firewall_plan,
    managed_netns,
    ruleset_path,
)


class Command(BaseCommand):
    help = (
        "Load Hearth's firewall: only SSH, HTTP, HTTPS and the ports apps publish are open. "
        "Idempotent: Hearth's own nftables table is replaced as a whole."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--print", action="store_true", dest="show", help="show the ruleset, load nothing"
        )
        parser.add_argument("--netns", help="load into this network namespace instead")

    def handle(self, *args, show: bool = False, netns: str | None = None, **options) -> None:
        if show:
            plan = firewall_plan()
            self.stdout.write(render_ruleset(plan.open_ports()))
            self.stdout.write(plan.describe())
            return
        on_host = netns is None and managed_netns() is None
        if on_host and not getattr(settings, "HEARTH_FIREWALL_ON_HOST", True):
            # The test settings: a test session must never replace the host's firewall.
            raise CommandError(
                "these settings do not manage the host firewall (HEARTH_FIREWALL_ON_HOST is "
                "off: HEARTH_FIREWALL=off, or the test settings); pass --netns or --print"
            )
        try:
            plan = apply_host_firewall(netns=netns)
        except FirewallError as exc:
            raise CommandError(f"the firewall was not changed: {exc}") from None
        if netns:
            where = f"network namespace {netns}"
        else:
            kept = f"kept in {ruleset_path()}, loaded again when apps' ports change"
            where = f"network namespace {managed_netns()}" if managed_netns() else "this host"
            where += f" ({kept})"
        self.stdout.write(f"Firewall loaded into {where}:\n{plan.describe()}")
