"""Amazon Route 53 (or any service speaking its API, given an endpoint URL)."""

from __future__ import annotations

import time

# boto3 (~30 MiB) is imported where it is used: every panel and worker process loads this
# module, few ever talk to Route 53.
from panel.domains.providers.base import ConfigField, DnsProvider, ProviderError, Record

_CREDENTIAL_ERRORS = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidSignatureException",
}


class Route53Provider(DnsProvider):
    kind = "route53"
    label = "Amazon Route 53"
    automatic = True
    fields = (
        ConfigField("access_key_id", "Access key ID"),
        ConfigField("secret_access_key", "Secret access key", secret=True),
        ConfigField(
            "hosted_zone_id", "Hosted zone ID", required=False, help="empty: found by name"
        ),
        ConfigField(
            "endpoint_url", "Endpoint URL", required=False, help="empty: Amazon's own endpoint"
        ),
    )

    def __init__(self, zone: str, config: dict[str, str]) -> None:
        super().__init__(zone, config)
        self._zone_id = self.config["hosted_zone_id"] or None
        self._pending: list[str] = []

    def _client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "route53",
            aws_access_key_id=self.config["access_key_id"],
            aws_secret_access_key=self.config["secret_access_key"],
            endpoint_url=self.config["endpoint_url"] or None,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 2}, connect_timeout=10, read_timeout=20),
        )

    def _call(self, what: str, method: str, **kwargs):
        import botocore.exceptions

        try:
            return getattr(self._client(), method)(**kwargs)
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            message = exc.response.get("Error", {}).get("Message", str(exc))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in _CREDENTIAL_ERRORS or status == 403:
                raise ProviderError(
                    f"{what}: Route 53 refused these credentials ({code or 'HTTP 403'})",
                    field="secret_access_key",
                ) from None
            field = "hosted_zone_id" if code == "NoSuchHostedZone" else None
            raise ProviderError(f"{what}: Route 53 said {code}: {message}", field=field) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise ProviderError(f"{what}: {exc}", field="endpoint_url") from None

    def zone_id(self) -> str:
        if self._zone_id:
            return self._zone_id
        listed = self._call(
            f"finding the hosted zone {self.zone}",
            "list_hosted_zones_by_name",
            DNSName=self.zone + ".",
        )
        for zone in listed["HostedZones"]:
            if zone["Name"].rstrip(".").lower() == self.zone:
                self._zone_id = zone["Id"].rsplit("/", 1)[-1]
                return self._zone_id
        raise ProviderError(
            f"these credentials see no hosted zone named {self.zone}", field="hosted_zone_id"
        )

    def verify(self) -> None:
        # Writing (and removing) a throw-away record proves what Hearth needs: the key may
        # change this zone. Reading alone would pass with a read-only key.
        probe = Record(f"_hearth-check.{self.zone}", "TXT", ('"hearth"',), ttl=60)
        self.set_record(probe)
        self._change(f"removing {probe}", "DELETE", self._record_set(probe))

    def _change(self, what: str, action: str, record_set: dict) -> None:
        answer = self._call(
            what,
            "change_resource_record_sets",
            HostedZoneId=self.zone_id(),
            ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": record_set}]},
        )
        self._pending.append(answer["ChangeInfo"]["Id"])

    def wait_until_applied(self, timeout: float = 120) -> None:
        # Route 53 accepts a change at once but serves it only once it is INSYNC; a CA
        # asked too early would find no TXT record.
        deadline = time.monotonic() + timeout
        while self._pending:
            change = self._call("waiting for Route 53", "get_change", Id=self._pending[0])
            if change["ChangeInfo"]["Status"] == "INSYNC":
                self._pending.pop(0)
            elif time.monotonic() > deadline:
                raise ProviderError(f"Route 53 change {self._pending[0]} still pending")
            else:
                time.sleep(2)

    def set_record(self, record: Record) -> None:
        self._change(f"setting {record}", "UPSERT", self._record_set(record))

    @staticmethod
    def _record_set(record: Record) -> dict:
        return {
            "Name": record.name + ".",
            "Type": record.rtype,
            "TTL": record.ttl,
            "ResourceRecords": [{"Value": value} for value in record.values],
        }

    def current(self, name: str, rtype: str) -> dict | None:
        """The record set as Route 53 holds it (a DELETE must repeat it exactly)."""
        listed = self._call(
            f"reading {name} {rtype}",
            "list_resource_record_sets",
            HostedZoneId=self.zone_id(),
            StartRecordName=name + ".",
            StartRecordType=rtype,
            MaxItems="1",
        )
        for record_set in listed["ResourceRecordSets"]:
            if record_set["Name"].rstrip(".").lower() == name.lower() and (
                record_set["Type"] == rtype
            ):
                return record_set
        return None

    def delete_record(self, name: str, rtype: str) -> None:
        existing = self.current(name, rtype)
        if existing is not None:
            self._change(f"removing {name} {rtype}", "DELETE", existing)
