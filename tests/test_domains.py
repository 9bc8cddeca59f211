"""The Domains page and add_domain: field errors for bad input, nothing stored on failure."""

from __future__ import annotations

import pytest
from django.urls import reverse

from panel.domains.models import Domain
from panel.domains.services import DomainRejected, add_domain

pytestmark = pytest.mark.django_db


def post_domain(client, **fields):
    data = {"name": "", "provider": "noop", "tls_mode": "off", **fields}
    return client.post(reverse("domains:add"), data)


def test_page_lists_domains_and_offers_every_provider(owner_client, domain):
    page = owner_client.get(reverse("domains:index"))
    assert page.status_code == 200
    assert "localhost" in page.text
    for label in ("RFC 2136", "Route 53", "Manual", "Wildcard"):
        assert label in page.text
    assert reverse("domains:index") in owner_client.get("/").text


@pytest.mark.parametrize(
    "name",
    ["exa mple.com", "-bad.com", "UPPER..com", "a" * 64 + ".com", "nodot", "bad_char.com"],
)
def test_invalid_domain_names_are_refused_with_a_field_error(owner_client, name):
    response = post_domain(owner_client, name=name)
    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    assert not Domain.objects.exists()


def test_a_domain_already_added_is_refused(owner_client, domain):
    response = post_domain(owner_client, name="localhost")
    assert response.status_code == 400
    assert "already one of your domains" in response.context["form"].errors["name"][0]
    assert Domain.objects.count() == 1


def test_adding_a_domain_with_the_noop_provider_stores_it(owner_client):
    response = post_domain(owner_client, name="Example.org.")
    assert response.status_code == 302
    domain = Domain.objects.get()
    assert (domain.name, domain.provider, domain.tls_mode) == ("example.org", "noop", "off")


def test_dns01_modes_need_a_provider_that_writes_dns(owner_client):
    response = post_domain(owner_client, name="example.org", tls_mode="acme-wildcard")
    assert response.status_code == 400
    assert "needs a DNS provider" in response.context["form"].errors["tls_mode"][0]
    assert not Domain.objects.exists()


def test_missing_provider_settings_are_field_errors(owner_client):
    response = post_domain(owner_client, name="example.org", provider="rfc2136")
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"rfc2136-server", "rfc2136-key_name", "rfc2136-key_secret"} <= set(errors)


def test_wrong_tsig_credentials_are_refused_against_the_real_server(owner_client, bind):
    config = bind.provider_config(key_secret="d3Jvbmcgc2VjcmV0IGtleQ==")
    response = post_domain(
        owner_client,
        name=bind.zone,
        provider="rfc2136",
        **{f"rfc2136-{k}": v for k, v in config.items()},
    )
    assert response.status_code == 400
    assert "rejected the TSIG key" in response.context["form"].errors["rfc2136-key_secret"][0]
    assert not Domain.objects.exists()


def test_right_tsig_credentials_add_the_domain(owner_client, bind):
    response = post_domain(
        owner_client,
        name=bind.zone,
        provider="rfc2136",
        tls_mode="acme-wildcard",
        **{f"rfc2136-{k}": v for k, v in bind.provider_config().items()},
    )
    assert response.status_code == 302, response.context["form"].errors
    domain = Domain.objects.get()
    assert domain.provider_config["key_name"] == bind.key_name
    detail = owner_client.get(reverse("domains:detail", args=[domain.pk]))
    assert "RFC 2136" in detail.text


def test_route53_with_a_zone_the_credentials_cannot_see_is_refused(moto_route53):
    with pytest.raises(DomainRejected) as caught:
        add_domain(
            name="nowhere.example.net",
            provider="route53",
            provider_config={
                "access_key_id": "testing",
                "secret_access_key": "testing",
                "endpoint_url": moto_route53,
            },
            tls_mode="acme-dns",
        )
    assert "no hosted zone named nowhere.example.net" in caught.value.errors["hosted_zone_id"]
    assert not Domain.objects.exists()


def test_manual_domain_shows_the_records_to_create_and_whether_dns_has_them(owner_client, bind):
    from panel.core.models import AppInstance

    domain = add_domain(
        name=bind.zone,
        provider="manual",
        provider_config={"nameserver": bind.server},
        ipv4="192.0.2.50",
    )
    AppInstance.objects.create(
        title="Notes",
        version="1",
        manifest={},
        image="x",
        subdomain="notes",
        domain=domain,
        memory_limit=1,
    )
    page = owner_client.get(reverse("domains:detail", args=[domain.pk]))
    assert "Create the record notes.hearth.test. 300 IN A 192.0.2.50" in page.text
    assert "missing" in page.text


def test_a_domain_with_apps_cannot_be_removed(owner_client, domain):
    from panel.core.models import AppInstance

    AppInstance.objects.create(
        title="Notes",
        version="1",
        manifest={},
        image="x",
        subdomain="notes",
        domain=domain,
        memory_limit=1,
    )
    response = owner_client.post(reverse("domains:remove", args=[domain.pk]), follow=True)
    assert "Apps still live on localhost" in response.text
    assert Domain.objects.filter(pk=domain.pk).exists()


def test_a_domain_that_only_an_alias_uses_cannot_be_removed(owner_client, domain):
    from panel.core.models import AppInstance
    from panel.domains.models import AppAlias

    other = Domain.objects.create(name="spare.example")
    app = AppInstance.objects.create(
        title="Notes",
        version="1",
        manifest={},
        image="x",
        subdomain="notes",
        domain=domain,
        memory_limit=1,
    )
    AppAlias.objects.create(app=app, subdomain="notes", domain=other)
    response = owner_client.post(reverse("domains:remove", args=[other.pk]), follow=True)
    assert "Apps still live on spare.example" in response.text
    assert Domain.objects.filter(pk=other.pk).exists()


def test_removing_an_unused_domain(owner_client):
    domain = Domain.objects.create(name="spare.example")
    owner_client.post(reverse("domains:remove", args=[domain.pk]))
    assert not Domain.objects.filter(pk=domain.pk).exists()


@pytest.mark.parametrize(
    ("name", "args"),
    [("domains:add", []), ("domains:remove", [1]), ("domains:certificate", [1])],
)
def test_outsiders_are_refused_and_get_is_not_allowed(outsider, owner, name, args):
    from django.test import Client

    Domain.objects.create(pk=1, name="spare.example")
    outsider_client, owner_client = Client(), Client()
    outsider_client.force_login(outsider)
    owner_client.force_login(owner)
    assert outsider_client.post(reverse(name, args=args), {"name": "x.example"}).status_code == 403
    assert owner_client.get(reverse(name, args=args)).status_code == 405
    assert Domain.objects.filter(pk=1).exists()
    assert not Domain.objects.filter(name="x.example").exists()


def test_outsiders_cannot_see_the_domains_page(outsider_client):
    assert outsider_client.get(reverse("domains:index")).status_code == 403


def test_an_app_location_that_is_itself_a_domain_is_refused(domain):
    from panel.core.services import check_location

    Domain.objects.create(name="blog.localhost")
    assert "is one of your domains" in check_location("blog", domain)["subdomain"]
    assert check_location("shop", domain) == {}
    assert "reserved for the Hearth dashboard" in check_location("my", domain)["subdomain"]


def test_route53_with_a_wrong_secret_is_refused_and_nothing_is_stored(
    owner_client, route53_with_auth
):
    config = route53_with_auth.provider_config(secret_access_key="not-the-secret")
    response = post_domain(
        owner_client,
        name=route53_with_auth.zone,
        provider="route53",
        tls_mode="acme-wildcard",
        **{f"route53-{k}": v for k, v in config.items()},
    )
    assert response.status_code == 400
    error = response.context["form"].errors["route53-secret_access_key"][0]
    assert "refused these credentials" in error
    assert not Domain.objects.exists()


def test_route53_with_the_right_key_adds_the_domain(owner_client, route53_with_auth):
    response = post_domain(
        owner_client,
        name=route53_with_auth.zone,
        provider="route53",
        tls_mode="acme-wildcard",
        **{f"route53-{k}": v for k, v in route53_with_auth.provider_config().items()},
    )
    assert response.status_code == 302, response.context["form"].errors
    assert Domain.objects.get().provider == "route53"


def test_multidomain_apps_are_told_their_aliases_but_not_their_redirects(domain):
    from panel.core.models import AppInstance
    from panel.domains.models import AppAlias
    from panel.domains.services import alias_env

    app = AppInstance.objects.create(
        title="Wiki",
        version="1",
        manifest={"multiDomain": True},
        image="x",
        subdomain="wiki",
        domain=domain,
        memory_limit=1,
    )
    AppAlias.objects.create(app=app, subdomain="docs", domain=domain)
    AppAlias.objects.create(app=app, subdomain="old", domain=domain, redirect=True)
    assert alias_env(app) == {"ALIAS_DOMAINS": "docs.localhost"}
    app.manifest = {}
    assert alias_env(app) == {}
    from panel.core.services import check_location

    assert "already another name" in check_location("docs", domain)["subdomain"]


def test_app_names_and_location_pages_are_for_admins_only(outsider, owner, domain):
    from django.test import Client

    from panel.core.models import AppInstance

    app = AppInstance.objects.create(
        title="Notes",
        version="1",
        manifest={},
        image="x",
        subdomain="notes",
        domain=domain,
        memory_limit=1,
        state="running",
    )
    outsider_client, owner_client = Client(), Client()
    outsider_client.force_login(outsider)
    owner_client.force_login(owner)
    location = reverse("domains:app_location", args=[app.pk])
    aliases = reverse("domains:app_aliases", args=[app.pk])
    assert outsider_client.get(location).status_code == 403
    assert (
        outsider_client.post(location, {"subdomain": "x", "domain": domain.pk}).status_code == 403
    )
    assert outsider_client.post(aliases, {"aliases": "www.localhost"}).status_code == 403
    assert owner_client.get(aliases).status_code == 405
    page = owner_client.get(location)
    assert page.status_code == 200 and "Move Notes" in page.text
    app.refresh_from_db()
    assert (app.subdomain, app.aliases.count()) == ("notes", 0)
