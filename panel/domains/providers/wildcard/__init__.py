"""Wildcard DNS: the owner made *.domain point at this server once; no records per app."""

from __future__ import annotations

import secrets

from panel.domains.providers.base import ConfigField, DnsProvider, ProviderError
from panel.domains.providers.resolve import lookup


class WildcardProvider(DnsProvider):
    kind = "wildcard"
    label = "Wildcard (*.domain already points here)"
    fields = (
        ConfigField(
            "nameserver",
            "Nameserver to check with",
            required=False,
            help="host or host:port; empty uses the system resolver",
        ),
    )

    def verify(self) -> None:
        # A random label can only resolve through the wildcard.
        probe = f"hearth-{secrets.token_hex(4)}.{self.zone}"
        if not lookup(probe, "A", self.config["nameserver"]):
            raise ProviderError(
                f"{probe} does not resolve: create the record *.{self.zone} A <this server>",
                field="provider",
            )
