"""RFC 2136 dynamic updates signed with TSIG: BIND, Knot, PowerDNS and most DNS servers."""

from __future__ import annotations

import binascii

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import dns.update

from panel.domains.providers.base import ConfigField, DnsProvider, ProviderError, Record
from panel.domains.providers.resolve import parse_server

ALGORITHMS = {
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
    "hmac-sha1": dns.tsig.HMAC_SHA1,
}


class Rfc2136Provider(DnsProvider):
    kind = "rfc2136"
    label = "RFC 2136 dynamic update (BIND, Knot, PowerDNS)"
    automatic = True
    fields = (
        ConfigField("server", "DNS server", help="host or host:port of the primary server"),
        ConfigField("key_name", "TSIG key name"),
        ConfigField("key_secret", "TSIG secret (base64)", secret=True),
        ConfigField("algorithm", "TSIG algorithm", required=False, default="hmac-sha256"),
        ConfigField("zone", "Zone", required=False, help="empty: the domain itself is the zone"),
    )

    def __init__(self, zone: str, config: dict[str, str]) -> None:
        super().__init__(zone, config)
        # A domain may be a subdomain of the zone the server holds (apps.example.com).
        self.zone = (self.config["zone"] or self.zone).rstrip(".").lower()

    @classmethod
    def config_errors(cls, config: dict[str, str]) -> dict[str, str]:
        errors = super().config_errors(config)
        if config.get("algorithm") and config["algorithm"] not in ALGORITHMS:
            errors["algorithm"] = f"Use one of {', '.join(ALGORITHMS)}."
        if "key_secret" not in errors:
            try:
                binascii.a2b_base64(str(config["key_secret"]).encode())
            except (binascii.Error, ValueError):
                errors["key_secret"] = "The TSIG secret must be base64, as in the key file."  # noqa: S105
        return errors

    def _update(self) -> dns.update.UpdateMessage:
        keyring = dns.tsigkeyring.from_text({self.config["key_name"]: self.config["key_secret"]})
        return dns.update.UpdateMessage(
            self.zone, keyring=keyring, keyalgorithm=ALGORITHMS[self.config["algorithm"]]
        )

    def _send(self, update: dns.message.Message, what: str) -> None:
        host, port = parse_server(self.config["server"])
        try:
            response = dns.query.tcp(update, host, port=port, timeout=10)
        except dns.tsig.PeerError as exc:
            # The server refused the signature: wrong key name or secret.
            raise ProviderError(
                f"{what}: {host}:{port} rejected the TSIG key ({exc})", field="key_secret"
            ) from None
        except (OSError, dns.exception.DNSException) as exc:
            raise ProviderError(
                f"{what}: cannot reach {host}:{port} ({exc})", field="server"
            ) from None
        rcode = response.rcode()
        if rcode != dns.rcode.NOERROR:
            field = "key_name" if rcode in (dns.rcode.NOTAUTH, dns.rcode.REFUSED) else None
            raise ProviderError(
                f"{what}: {host}:{port} answered {dns.rcode.to_text(rcode)}", field=field
            )

    def _relative(self, name: str) -> dns.name.Name:
        absolute = dns.name.from_text(name)
        zone = dns.name.from_text(self.zone)
        if not absolute.is_subdomain(zone):
            raise ProviderError(f"{name} is not inside the zone {self.zone}")
        return absolute.relativize(zone)

    def set_record(self, record: Record) -> None:
        update = self._update()
        # Names in values are absolute (a relative CNAME target would get the zone appended).
        values = [f"{v}." if record.rtype == "CNAME" else v for v in record.values]
        update.replace(self._relative(record.name), record.ttl, record.rtype, *values)
        self._send(update, f"setting {record}")

    def delete_record(self, name: str, rtype: str) -> None:
        update = self._update()
        update.delete(self._relative(name), rtype)
        self._send(update, f"removing {name} {rtype}")

    def verify(self) -> None:
        # A throw-away record proves both that the zone exists there and that the key may
        # write to it; reading alone would not.
        probe = f"_hearth-check.{self.zone}"
        self.set_record(Record(probe, "TXT", ('"hearth"',), ttl=60))
        self.delete_record(probe, "TXT")
