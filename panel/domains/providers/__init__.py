"""DNS providers, one sub-package each, looked up by kind in PROVIDERS."""

from __future__ import annotations

from panel.domains.providers.base import ConfigField, DnsProvider, ProviderError, Record
from panel.domains.providers.manual import ManualProvider
from panel.domains.providers.noop import NoopProvider
from panel.domains.providers.rfc2136 import Rfc2136Provider
from panel.domains.providers.route53 import Route53Provider
from panel.domains.providers.wildcard import WildcardProvider

PROVIDERS: dict[str, type[DnsProvider]] = {
    cls.kind: cls
    for cls in (NoopProvider, ManualProvider, WildcardProvider, Rfc2136Provider, Route53Provider)
}


def get_provider(kind: str, zone: str, config: dict[str, str]) -> DnsProvider:
    try:
        return PROVIDERS[kind](zone, config)
    except KeyError:
        raise ProviderError(f"unknown DNS provider {kind!r}", field="provider") from None


__all__ = ["PROVIDERS", "ConfigField", "DnsProvider", "ProviderError", "Record", "get_provider"]
