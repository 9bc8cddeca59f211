"""DNS lookups against a chosen nameserver (or the system's), shared by the providers."""

from __future__ import annotations

import dns.exception
import dns.resolver


def parse_server(server: str, default_port: int = 53) -> tuple[str, int]:
    server = server.strip()
    if server.count(":") == 1:  # host:port; more colons mean a bare IPv6 address
        host, port = server.split(":")
        return host, int(port)
    return server, default_port


def resolver_for(nameserver: str) -> dns.resolver.Resolver:
    if not nameserver:
        return dns.resolver.Resolver()
    host, port = parse_server(nameserver)
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = port
    return resolver


def lookup(name: str, rtype: str, nameserver: str = "", timeout: float = 5.0) -> list[str]:
    """The values DNS answers for name/rtype; empty when the name or the type does not exist."""
    resolver = resolver_for(nameserver)
    resolver.lifetime = timeout
    try:
        answer = resolver.resolve(name, rtype, raise_on_no_answer=False, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers, dns.exception.Timeout):
        return []
    # Presentation format, as Record values are written: TXT values keep their quotes.
    return [
        rdata.to_text().rstrip(".") if rtype in ("CNAME", "NS") else rdata.to_text()
        for rdata in answer
    ]
