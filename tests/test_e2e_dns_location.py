"""Moving an app to another name: DNS record, certificate, nginx and origin move with it."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from panel.core.models import AppInstance, Task
from panel.core.services import ActionRejected, change_app_location, install_app, request_app_action
from panel.domains.models import Certificate, Domain
from panel.domains.providers.resolve import lookup
from panel.domains.services import add_domain
from panel.runtime.spec import app_resource_names
from tests.conftest import fetch, wait_for_task
from tests.fixtures_domains import fetch_tls

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_moving_an_app_moves_its_record_certificate_site_and_origin(
    worker, publish, bind, pebble, nginx, docker_runtime, owner_client, tmp_path
):
    root = tmp_path / "root.pem"
    root.write_text(pebble.root_pem())
    domain = add_domain(
        name=bind.zone,
        provider="rfc2136",
        provider_config=bind.provider_config(),
        tls_mode="acme-http",
        ipv4="127.0.0.1",
    )
    app = install_app(release=publish("staticsite"), subdomain="alpha", domain=domain)
    assert wait_for_task(app.tasks.get().pk, timeout=150).state == Task.State.SUCCEEDED
    other = install_app(release=publish("staticsite"), subdomain="taken", domain=domain)
    assert wait_for_task(other.tasks.get().pk, timeout=150).state == Task.State.SUCCEEDED

    url = reverse("domains:app_location", args=[app.pk])
    refused = owner_client.post(url, {"subdomain": "taken", "domain": domain.pk})
    assert refused.status_code == 400
    assert "already used by another app" in refused.context["form"].errors["subdomain"][0]
    with pytest.raises(ActionRejected, match="already lives at alpha.hearth.test"):
        change_app_location(app, subdomain="alpha", domain=domain)

    moved = owner_client.post(url, {"subdomain": "beta", "domain": domain.pk})
    assert moved.status_code == 302
    task = wait_for_task(Task.objects.get(kind="change_location").pk, timeout=150)
    assert task.state == Task.State.SUCCEEDED, task.error + task.log
    app.refresh_from_db()
    assert (app.fqdn, app.state) == ("beta.hearth.test", "running")

    assert lookup("beta.hearth.test", "A", bind.server) == ["127.0.0.1"]
    assert lookup("alpha.hearth.test", "A", bind.server) == []
    assert Certificate.objects.get(app=app).names == ["beta.hearth.test"]
    status, _, body, _ = fetch_tls("beta.hearth.test", str(root))
    assert status == 200 and "Welcome to your website" in body
    assert fetch("alpha.hearth.test").status_code == 404
    container = docker_runtime.client.containers.get(
        app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    )
    port = settings.HEARTH_HTTPS_LISTEN.rsplit(":", 1)[-1]
    assert f"HEARTH_APP_ORIGIN=https://beta.hearth.test:{port}" in container.attrs["Config"]["Env"]

    # Moving again, keeping the old name as a redirect: old links land on the new name.
    again = change_app_location(app, subdomain="gamma", domain=domain, redirect_old=True)
    assert wait_for_task(again.pk, timeout=150).state == Task.State.SUCCEEDED
    assert lookup("beta.hearth.test", "A", bind.server) == ["127.0.0.1"]
    assert sorted(Certificate.objects.get(app=app).names) == [
        "beta.hearth.test",
        "gamma.hearth.test",
    ]
    status, headers, _, _ = fetch_tls("beta.hearth.test", str(root), "/x")
    assert (status, headers["location"]) == (301, f"https://gamma.hearth.test:{port}/x")
    status, _, body, _ = fetch_tls("gamma.hearth.test", str(root))
    assert status == 200 and "Welcome to your website" in body

    # A move whose new record cannot be made fails, names the record, and leaves the app
    # where it was (its record too).
    broken = Domain.objects.create(
        name="broken.hearth.test",
        provider="rfc2136",
        provider_config=bind.provider_config(zone=bind.zone, key_secret="d3Jvbmcgc2VjcmV0IGtleQ=="),
        ipv4="127.0.0.1",
    )
    failed = wait_for_task(change_app_location(other, subdomain="gone", domain=broken).pk)
    assert failed.state == Task.State.FAILED
    assert "DNS record gone.broken.hearth.test A 127.0.0.1 could not be created" in failed.error
    other.refresh_from_db()
    assert (other.fqdn, other.state) == ("taken.hearth.test", "error")
    assert lookup("taken.hearth.test", "A", bind.server) == ["127.0.0.1"]

    for each in AppInstance.objects.all():
        assert wait_for_task(request_app_action(each, "uninstall").pk).state == "succeeded"


def test_aliases_and_redirects_get_records_a_certificate_and_nginx_blocks(
    worker, publish, bind, pebble, nginx, owner_client, tmp_path
):
    root = tmp_path / "root.pem"
    root.write_text(pebble.root_pem())
    domain = add_domain(
        name=bind.zone,
        provider="rfc2136",
        provider_config=bind.provider_config(),
        tls_mode="acme-http",
        ipv4="127.0.0.1",
    )
    app = install_app(release=publish("staticsite"), subdomain="main", domain=domain)
    assert wait_for_task(app.tasks.get().pk, timeout=150).state == Task.State.SUCCEEDED
    url = reverse("domains:app_aliases", args=[app.pk])

    refused = owner_client.post(url, {"aliases": "www.elsewhere.test", "redirects": ""})
    assert refused.status_code == 400
    assert "not one of your domains" in refused.context["aliases_form"].errors["aliases"][0]

    saved = owner_client.post(url, {"aliases": "www.hearth.test", "redirects": "old.hearth.test"})
    assert saved.status_code == 302
    task = wait_for_task(Task.objects.filter(kind="change_location").get().pk, timeout=150)
    assert task.state == Task.State.SUCCEEDED, task.error + task.log
    for name in ("main", "www", "old"):
        assert lookup(f"{name}.hearth.test", "A", bind.server) == ["127.0.0.1"]
    assert sorted(Certificate.objects.get(app=app).names) == [
        "main.hearth.test",
        "old.hearth.test",
        "www.hearth.test",
    ]
    status, _, body, _ = fetch_tls("www.hearth.test", str(root))
    assert status == 200 and "Welcome to your website" in body
    port = settings.HEARTH_HTTPS_LISTEN.rsplit(":", 1)[-1]
    status, headers, _, _ = fetch_tls("old.hearth.test", str(root), "/a?b=1")
    assert (status, headers["location"]) == (301, f"https://main.hearth.test:{port}/a?b=1")
    plain = fetch("old.hearth.test", "/a", allow_redirects=False)
    assert plain.headers["location"] == f"https://main.hearth.test:{port}/a"

    # Dropping the alias removes its record; the redirect stays.
    owner_client.post(url, {"aliases": "", "redirects": "old.hearth.test"})
    second = Task.objects.filter(kind="change_location").exclude(pk=task.pk).get()
    assert wait_for_task(second.pk, timeout=150).state == Task.State.SUCCEEDED
    assert lookup("www.hearth.test", "A", bind.server) == []
    assert lookup("old.hearth.test", "A", bind.server) == ["127.0.0.1"]

    assert wait_for_task(request_app_action(app, "uninstall").pk).state == "succeeded"
    for name in ("main", "old"):
        assert lookup(f"{name}.hearth.test", "A", bind.server) == []
