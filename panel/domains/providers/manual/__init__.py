"""Manual DNS: Hearth tells the owner which records to create and checks them by querying DNS."""

from __future__ import annotations

from panel.domains.providers.base import ConfigField, DnsProvider, ProviderError, Record
from panel.domains.providers.resolve import lookup


class ManualProvider(DnsProvider):
    kind = "manual"
    label = "Manual (Hearth shows the records, you create them)"
    fields = (
        ConfigField(
            "nameserver",
            "Nameserver to check with",
            required=False,
            help="host or host:port; empty uses the system resolver",
        ),
    )

    def instructions(self, record: Record) -> str:
        # Zone-file syntax: a CNAME's target is absolute, with its final dot.
        values = [f"{v}." if record.rtype == "CNAME" else v for v in record.values]
        return f"Create the record {record.name}. {record.ttl} IN {record.rtype} " + " ".join(
            values
        )

    def check(self, record: Record) -> str | None:
        """None when DNS answers with exactly the record's values, else what it answers."""
        found = lookup(record.name, record.rtype, self.config["nameserver"])
        if sorted(found) == sorted(record.values):
            return None
        return ", ".join(found) if found else "no such record"

    def set_record(self, record: Record) -> None:
        # Nothing to do but look: a missing record is reported, not fatal, since the owner may
        # create it after the app is installed.
        pass

    def verify(self) -> None:
        if not lookup(self.zone, "SOA", self.config["nameserver"]) and not lookup(
            self.zone, "NS", self.config["nameserver"]
        ):
            raise ProviderError(f"DNS has no zone {self.zone}", field="name")
