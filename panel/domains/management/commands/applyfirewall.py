from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from panel.domains.firewall import (
    FirewallError,
    OpenPorts,
    app_ports,
    apply_ruleset,
    listen_port,
    render_ruleset,
)
from panel.runtime.firewall import ports_open_to_apps


class Command(BaseCommand):
    help = "Load Hearth's firewall: only SSH, HTTP, HTTPS and the ports apps declare are open."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--print", action="store_true", dest="show", help="show the ruleset, load nothing"
        )
        parser.add_argument("--netns", help="load into this network namespace instead")

    def handle(self, *args, show: bool = False, netns: str | None = None, **options) -> None:
        from panel.core.models import AppInstance

        declared = app_ports(AppInstance.objects.values_list("manifest", flat=True))
        ports = OpenPorts(
            tcp=declared.tcp
            | {
                settings.HEARTH_SSH_PORT,
                listen_port(settings.HEARTH_HTTP_LISTEN),
                listen_port(settings.HEARTH_HTTPS_LISTEN),
            }
            | set(settings.HEARTH_FIREWALL_EXTRA_TCP),
            udp=declared.udp,
            app_tcp=frozenset(ports_open_to_apps()),
        )
        text = render_ruleset(ports)
        if show:
            self.stdout.write(text)
            return
        try:
            apply_ruleset(text, netns=netns)
        except FirewallError as exc:
            raise CommandError(f"the firewall was not changed: {exc}") from None
        self.stdout.write(f"open tcp {sorted(ports.tcp)} udp {sorted(ports.udp)}")
