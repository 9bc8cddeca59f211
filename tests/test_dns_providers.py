"""DNS providers against real servers: BIND 9 over RFC 2136 with TSIG, moto's Route 53."""

from __future__ import annotations

import secrets

import boto3
import pytest

from panel.domains.providers import PROVIDERS, ProviderError, Record, get_provider
from panel.domains.providers.resolve import lookup


def _label() -> str:
    return f"t{secrets.token_hex(4)}"


def test_registry_lists_every_provider_by_kind():
    assert set(PROVIDERS) == {"noop", "manual", "wildcard", "rfc2136", "route53"}


def test_rfc2136_creates_replaces_and_deletes_a_record_in_bind(bind):
    provider = get_provider("rfc2136", bind.zone, bind.provider_config())
    provider.verify()
    name = f"{_label()}.{bind.zone}"
    provider.set_record(Record(name, "A", ("127.0.0.1",)))
    assert lookup(name, "A", bind.server) == ["127.0.0.1"]
    provider.set_record(Record(name, "A", ("127.0.0.2",)))
    assert lookup(name, "A", bind.server) == ["127.0.0.2"]
    provider.delete_record(name, "A")
    assert lookup(name, "A", bind.server) == []
    # Deleting what is not there is not an error.
    provider.delete_record(name, "A")


def test_rfc2136_writes_txt_records_with_several_values(bind):
    provider = get_provider("rfc2136", bind.zone, bind.provider_config())
    name = f"_acme-challenge.{_label()}.{bind.zone}"
    provider.set_record(Record(name, "TXT", ('"one"', '"two"'), ttl=60))
    assert sorted(lookup(name, "TXT", bind.server)) == ['"one"', '"two"']


def test_rfc2136_with_a_wrong_secret_names_the_key(bind):
    wrong = get_provider(
        "rfc2136", bind.zone, bind.provider_config(key_secret="d3Jvbmcgc2VjcmV0IGtleQ==")
    )
    with pytest.raises(ProviderError, match="TSIG") as caught:
        wrong.verify()
    assert caught.value.field == "key_secret"


def test_rfc2136_for_a_zone_the_server_does_not_hold_fails(bind):
    provider = get_provider("rfc2136", "not-served.test", bind.provider_config())
    with pytest.raises(ProviderError, match="NOTAUTH|REFUSED|NOTZONE"):
        provider.verify()


def test_rfc2136_rejects_a_secret_that_is_not_base64():
    errors = PROVIDERS["rfc2136"].config_errors(
        {"server": "127.0.0.1", "key_name": "k", "key_secret": "not base64!"}
    )
    assert "key_secret" in errors


def test_manual_provider_shows_the_record_and_sees_it_once_created(bind):
    manual = get_provider("manual", bind.zone, {"nameserver": bind.server})
    manual.verify()
    record = Record(f"{_label()}.{bind.zone}", "A", ("192.0.2.7",))
    assert "192.0.2.7" in manual.instructions(record)
    assert manual.check(record) == "no such record"
    get_provider("rfc2136", bind.zone, bind.provider_config()).set_record(record)
    assert manual.check(record) is None


def test_wildcard_provider_checks_that_the_wildcard_resolves(bind):
    get_provider("wildcard", bind.wildcard_zone, {"nameserver": bind.server}).verify()
    with pytest.raises(ProviderError, match="does not resolve"):
        get_provider("wildcard", bind.zone, {"nameserver": bind.server}).verify()


@pytest.fixture
def route53_zone(moto_route53):
    zone = f"{_label()}.example.org"
    client = boto3.client(
        "route53",
        endpoint_url=moto_route53,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    created = client.create_hosted_zone(Name=zone, CallerReference=secrets.token_hex(8))
    return zone, created["HostedZone"]["Id"].rsplit("/", 1)[-1], client


def test_route53_finds_the_zone_by_name_and_manages_records(moto_route53, route53_zone):
    zone, zone_id, client = route53_zone
    provider = get_provider(
        "route53",
        zone,
        {"access_key_id": "testing", "secret_access_key": "testing", "endpoint_url": moto_route53},
    )
    provider.verify()
    assert provider.zone_id() == zone_id
    name = f"blog.{zone}"
    provider.set_record(Record(name, "A", ("192.0.2.10",)))
    sets = client.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    assert [(s["Name"], s["ResourceRecords"]) for s in sets if s["Type"] == "A"] == [
        (f"{name}.", [{"Value": "192.0.2.10"}])
    ]
    provider.delete_record(name, "A")
    provider.wait_until_applied()
    assert provider._pending == []
    sets = client.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    assert [s for s in sets if s["Type"] == "A"] == []


def test_route53_with_an_unknown_zone_id_names_the_field(moto_route53, route53_zone):
    zone, _, _ = route53_zone
    provider = get_provider(
        "route53",
        zone,
        {
            "access_key_id": "testing",
            "secret_access_key": "testing",
            "endpoint_url": moto_route53,
            "hosted_zone_id": "ZNOTAZONE",
        },
    )
    with pytest.raises(ProviderError) as caught:
        provider.verify()
    assert caught.value.field == "hosted_zone_id"
