"""No DNS automation: the owner manages records elsewhere (or uses *.localhost)."""

from __future__ import annotations

from panel.domains.providers.base import DnsProvider


class NoopProvider(DnsProvider):
    kind = "noop"
    label = "None (I manage DNS myself)"
