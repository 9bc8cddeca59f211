"""Domains whose app records are CNAMEs to one host name: created, switched from and back to
A records, and removed in the real BIND (RFC 2136) and moto's Route 53; shown and checked by
the manual provider; a bad target refused by field."""

from __future__ import annotations

import secrets

import boto3
import pytest

from panel.core.models import AppInstance
from panel.core.services import check_location
from panel.domains.models import Domain
from panel.domains.providers import Record, get_provider
from panel.domains.providers.resolve import lookup
from panel.domains.services import (
    DomainRejected,
    add_domain,
    app_records,
    create_app_records,
    remove_app_records,
    update_dynamic_dns,
)
from tests.test_dns_dynamic import address_service  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def _label() -> str:
    return f"c{secrets.token_hex(4)}"


def _app(domain: Domain, subdomain: str) -> AppInstance:
    return AppInstance.objects.create(
        title=subdomain,
        version="1",
        manifest={},
        image="x",
        subdomain=subdomain,
        domain=domain,
        memory_limit=1,
    )


@pytest.fixture
def bind_domain(bind):
    name = f"{_label()}.{bind.zone}"
    return Domain.objects.create(
        name=name,
        provider="rfc2136",
        provider_config=bind.provider_config(zone=bind.zone),
        ipv4="127.0.0.5",
        cname_target=f"my.{name}",
    )


def test_app_records_are_a_cname_to_the_domains_target(bind, bind_domain):
    app = _app(bind_domain, "blog")
    assert app_records(app) == [Record(app.fqdn, "CNAME", (f"my.{bind_domain.name}",))]
    create_app_records(app)
    assert lookup(app.fqdn, "CNAME", bind.server) == [f"my.{bind_domain.name}"]
    remove_app_records(app)
    assert lookup(app.fqdn, "CNAME", bind.server) == []


def test_switching_between_addresses_and_a_cname_moves_the_records_in_bind(bind, bind_domain):
    Domain.objects.filter(pk=bind_domain.pk).update(cname_target="")
    bind_domain.refresh_from_db()
    app = _app(bind_domain, "wiki")
    create_app_records(app)
    assert lookup(app.fqdn, "A", bind.server) == ["127.0.0.5"]

    # A CNAME cannot sit beside an A record: the A goes first.
    Domain.objects.filter(pk=bind_domain.pk).update(cname_target="home.dyndns.example")
    app.domain.refresh_from_db()
    notes = create_app_records(app)
    assert f"DNS record {app.fqdn} CNAME home.dyndns.example created" in notes
    assert lookup(app.fqdn, "CNAME", bind.server) == ["home.dyndns.example"]
    provider = get_provider("manual", bind_domain.name, {"nameserver": bind.server})
    assert provider.check(Record(app.fqdn, "A", ("127.0.0.5",))) == "no such record"

    # And back: the CNAME goes, the A comes back.
    Domain.objects.filter(pk=bind_domain.pk).update(cname_target="")
    app.domain.refresh_from_db()
    create_app_records(app)
    assert lookup(app.fqdn, "CNAME", bind.server) == []
    assert lookup(app.fqdn, "A", bind.server) == ["127.0.0.5"]
    remove_app_records(app)


def test_the_manual_provider_shows_the_cname_and_checks_it(bind, bind_domain):
    manual = get_provider("manual", bind_domain.name, {"nameserver": bind.server})
    record = Record(f"notes.{bind_domain.name}", "CNAME", (f"my.{bind_domain.name}",))
    assert manual.instructions(record) == (
        f"Create the record notes.{bind_domain.name}. 300 IN CNAME my.{bind_domain.name}."
    )
    assert manual.check(record) == "no such record"
    get_provider("rfc2136", bind_domain.name, bind_domain.provider_config).set_record(record)
    assert manual.check(record) is None


def test_route53_creates_and_removes_the_cname(moto_route53):
    zone = f"{_label()}.example.org"
    client = boto3.client(
        "route53",
        endpoint_url=moto_route53,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    zone_id = client.create_hosted_zone(Name=zone, CallerReference=secrets.token_hex(8))[
        "HostedZone"
    ]["Id"].rsplit("/", 1)[-1]
    domain = Domain.objects.create(
        name=zone,
        provider="route53",
        provider_config={
            "access_key_id": "testing",
            "secret_access_key": "testing",
            "endpoint_url": moto_route53,
        },
        ipv4="192.0.2.20",
    )
    app = _app(domain, "shop")

    def record_sets() -> list[tuple[str, str, list]]:
        sets = client.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        return [
            (s["Type"], s["Name"], [r["Value"] for r in s.get("ResourceRecords", [])])
            for s in sets
            if s["Name"] == f"shop.{zone}."
        ]

    create_app_records(app)
    assert record_sets() == [("A", f"shop.{zone}.", ["192.0.2.20"])]
    Domain.objects.filter(pk=domain.pk).update(cname_target=f"home.{zone}")
    app.domain.refresh_from_db()
    create_app_records(app)
    assert [(t, values) for t, _, values in record_sets()] == [("CNAME", [f"home.{zone}"])]
    remove_app_records(app)
    get_provider(domain.provider, zone, domain.provider_config).wait_until_applied()
    assert record_sets() == []


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("not a host", "Enter a host name in lower case"),
        ("localhost", "Enter a full host name"),
        ("cname.example.net", "Point to a host name, not cname.example.net itself"),
    ],
)
def test_a_bad_cname_target_is_refused_by_field_and_nothing_is_created(target, message):
    with pytest.raises(DomainRejected) as caught:
        add_domain(name="cname.example.net", provider="noop", cname_target=target)
    assert caught.value.errors["cname_target"].startswith(message)
    assert not Domain.objects.filter(name="cname.example.net").exists()


def test_a_target_that_is_an_apps_own_name_is_refused(domain):
    _app(domain, "home")
    with pytest.raises(DomainRejected) as caught:
        add_domain(name="other.example.net", provider="noop", cname_target="home.localhost")
    assert "an app's own name" in caught.value.errors["cname_target"]
    added = add_domain(
        name="other.example.net", provider="noop", cname_target="Box.Other.Example.Net."
    )
    assert added.cname_target == "box.other.example.net"
    # And no app may take the name the records point to.
    assert "where this domain's app records point" in check_location("box", added)["subdomain"]


def test_dynamic_dns_moves_only_the_cname_target_inside_the_domain(
    bind,
    bind_domain,
    address_service,  # noqa: F811 - the fixture imported above
    settings,
):
    url, answer = address_service
    settings.HEARTH_PUBLIC_IP_URL = url
    Domain.objects.filter(pk=bind_domain.pk).update(dynamic_dns=True)
    app = _app(bind_domain, "photos")
    create_app_records(app)
    answer["body"] = "127.0.0.44"
    assert update_dynamic_dns() == {"updated": 1, "failed": 0}
    assert lookup(f"my.{bind_domain.name}", "A", bind.server) == ["127.0.0.44"]
    # The app's own record stays a CNAME (an A beside it would break it).
    assert lookup(app.fqdn, "CNAME", bind.server) == [f"my.{bind_domain.name}"]
    remove_app_records(app)


def test_the_owner_switches_a_domain_to_cname_records_later(
    bind, bind_domain, owner_client, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from panel.core.models import Event
    from panel.domains.services import refresh_app_records

    Domain.objects.filter(pk=bind_domain.pk).update(cname_target="")
    app = _app(bind_domain, "files")
    bind_domain.refresh_from_db()
    create_app_records(app)
    url = reverse("domains:records", args=[bind_domain.pk])
    page = owner_client.get(reverse("domains:detail", args=[bind_domain.pk])).content.decode()
    assert 'name="cname_target"' in page

    refused = owner_client.post(url, {"cname_target": f"files.{bind_domain.name}"})
    assert refused.status_code == 400
    assert "an app's own name" in refused.context["cname_form"].errors["cname_target"][0]
    assert Domain.objects.get(pk=bind_domain.pk).cname_target == ""

    with django_capture_on_commit_callbacks(execute=False) as queued:
        saved = owner_client.post(url, {"cname_target": f"home.{bind_domain.name}"})
    assert saved.status_code == 302 and len(queued) == 1
    bind_domain.refresh_from_db()
    assert refresh_app_records(bind_domain) == {"updated": 1, "failed": 0}
    assert lookup(app.fqdn, "CNAME", bind.server) == [f"home.{bind_domain.name}"]

    # A provider that refuses: the event names the record and why; the app keeps its record.
    Domain.objects.filter(pk=bind_domain.pk).update(
        provider_config=bind.provider_config(zone=bind.zone, key_secret="d3Jvbmcgc2VjcmV0IGtleQ==")
    )
    bind_domain.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=False):
        owner_client.post(url, {"cname_target": ""})
    bind_domain.refresh_from_db()
    assert refresh_app_records(bind_domain) == {"updated": 0, "failed": 1}
    failure = Event.objects.get(action="domain_records", outcome="failed")
    assert f"DNS record {app.fqdn} A 127.0.0.5 could not be created" in failure.message
    assert lookup(app.fqdn, "CNAME", bind.server) == [f"home.{bind_domain.name}"]
    remove = get_provider("rfc2136", bind_domain.name, bind.provider_config(zone=bind.zone))
    remove.delete_record(app.fqdn, "CNAME")
