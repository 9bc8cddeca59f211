"""Apps on a real DNS zone (BIND, RFC 2136) with real certificates from Pebble: HTTP-01 served
by Hearth's nginx, DNS-01 through the provider, fetched over TLS against Pebble's root."""

from __future__ import annotations

import datetime
import ssl
import time

import pytest
from cryptography import x509
from django.conf import settings
from django.core import mail
from django.utils import timezone

from panel.core.models import Event, Task
from panel.core.services import install_app, request_app_action
from panel.domains.models import Certificate, Domain
from panel.domains.providers.resolve import lookup
from panel.domains.services import add_domain, certificate_for_app, renew_due_certificates
from panel.proxy.sites import app_site_name
from panel.runtime.spec import app_resource_names
from tests.conftest import fetch, wait_for_task
from tests.fixtures_domains import fetch_tls

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pebble_root(pebble, tmp_path):
    path = tmp_path / "pebble-root.pem"
    path.write_text(pebble.root_pem())
    return str(path)


def serial(der: bytes) -> int:
    return x509.load_der_x509_certificate(der).serial_number


def _dashboard_over_tls(host: str, cafile: str) -> tuple[int, dict[str, str]]:
    """prepare_domain runs in the worker beside the install: wait for its site."""
    deadline = time.monotonic() + 30
    while True:
        try:
            status, headers, _, _ = fetch_tls(host, cafile)
            return status, headers
        except (ssl.SSLError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def install(publish, domain, subdomain):
    app = install_app(release=publish("staticsite"), subdomain=subdomain, domain=domain)
    task = wait_for_task(app.tasks.get().pk, timeout=150)
    app.refresh_from_db()
    return app, task


def test_http01_install_creates_the_record_gets_a_certificate_and_serves_https_only(
    worker, publish, bind, pebble_root, nginx, docker_runtime
):
    domain = add_domain(
        name=bind.zone,
        provider="rfc2136",
        provider_config=bind.provider_config(),
        tls_mode="acme-http",
        ipv4="127.0.0.1",
    )
    app, task = install(publish, domain, "blog")
    assert task.state == Task.State.SUCCEEDED, task.error + task.log
    assert lookup("blog.hearth.test", "A", bind.server) == ["127.0.0.1"]
    certificate = certificate_for_app(app)
    assert certificate.app_id == app.pk and certificate.names == ["blog.hearth.test"]

    status, headers, body, _ = fetch_tls("blog.hearth.test", pebble_root)
    assert status == 200 and "Welcome to your website" in body
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["tls-version"] in ("TLSv1.2", "TLSv1.3")
    plain = fetch("blog.hearth.test", "/some/page?x=1", allow_redirects=False)
    assert plain.status_code == 301
    https_port = settings.HEARTH_HTTPS_LISTEN.rsplit(":", 1)[-1]
    assert plain.headers["location"] == f"https://blog.hearth.test:{https_port}/some/page?x=1"
    # The app is told its https origin.
    container = docker_runtime.client.containers.get(
        app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    )
    assert (
        f"HEARTH_APP_ORIGIN=https://blog.hearth.test:{https_port}"
        in container.attrs["Config"]["Env"]
    )
    uninstall = wait_for_task(request_app_action(app, "uninstall").pk)
    assert uninstall.state == Task.State.SUCCEEDED, uninstall.error
    assert lookup("blog.hearth.test", "A", bind.server) == []
    assert not Certificate.objects.exists()
    assert not list((nginx.directory / "certs").glob(f"app-{app.id.hex}.*"))
    assert not nginx.site_path(app_site_name(app)).exists()


def test_wildcard_certificate_by_dns01_serves_every_app_and_renews_in_place(
    worker, publish, bind, pebble_root, nginx, owner
):
    domain = add_domain(
        name=bind.zone,
        provider="rfc2136",
        provider_config=bind.provider_config(),
        tls_mode="acme-wildcard",
        ipv4="127.0.0.1",
    )
    app, task = install(publish, domain, "wiki")
    assert task.state == Task.State.SUCCEEDED, task.error + task.log
    certificate = Certificate.objects.get()
    assert certificate.app is None
    assert sorted(certificate.names) == ["*.hearth.test", "hearth.test"]
    # The challenge TXT records are cleaned up after validation.
    assert lookup("_acme-challenge.hearth.test", "TXT", bind.server) == []
    status, _, body, leaf = fetch_tls("wiki.hearth.test", pebble_root)
    assert status == 200 and "Welcome to your website" in body
    assert (
        serial(leaf)
        == x509.load_pem_x509_certificate(certificate.fullchain_pem.encode()).serial_number
    )

    # The dashboard answers at my.<domain> over the same certificate, with its headers
    # (502: no panel runs in this test; nginx adds the headers to every answer).
    status, headers = _dashboard_over_tls("my.hearth.test", pebble_root)
    assert status == 502
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["strict-transport-security"].startswith("max-age=")

    # Nothing is due yet: renewal leaves it alone.
    assert renew_due_certificates() == {"renewed": 0, "failed": 0}
    # Within 30 days of expiry it is renewed, and nginx serves the new one.
    Certificate.objects.update(not_after=timezone.now() + datetime.timedelta(days=20))
    assert renew_due_certificates() == {"renewed": 1, "failed": 0}
    renewed = Certificate.objects.get()
    assert renewed.not_after > timezone.now() + datetime.timedelta(days=60)
    _, _, _, new_leaf = fetch_tls("wiki.hearth.test", pebble_root)
    assert serial(new_leaf) != serial(leaf)
    assert (
        serial(new_leaf)
        == x509.load_pem_x509_certificate(renewed.fullchain_pem.encode()).serial_number
    )

    # A failing renewal (the TSIG key was rotated away) backs off, is logged, and the
    # current certificate keeps serving.
    Domain.objects.filter(pk=domain.pk).update(
        provider_config=bind.provider_config(key_secret="d3Jvbmcgc2VjcmV0IGtleQ==")
    )
    Certificate.objects.update(not_after=timezone.now() + datetime.timedelta(days=20))
    before = timezone.now()
    assert renew_due_certificates() == {"renewed": 0, "failed": 1}
    failed = Certificate.objects.get()
    assert failed.renew_failures == 1
    assert "TSIG" in failed.last_error
    assert failed.next_renewal_attempt >= before + datetime.timedelta(minutes=59)
    assert Event.objects.filter(action="certificate_renewal", outcome="failed").exists()
    alert = mail.outbox[-1]
    assert alert.to == ["owner@example.com"] and "renewal failed" in alert.subject
    # Backed off: not retried at once.
    assert renew_due_certificates() == {"renewed": 0, "failed": 0}
    _, _, _, still = fetch_tls("wiki.hearth.test", pebble_root)
    assert serial(still) == serial(new_leaf)

    # Uninstall needs working DNS credentials too: with the wrong key it fails and says so.
    refused = wait_for_task(request_app_action(app, "uninstall").pk)
    assert refused.state == Task.State.FAILED
    assert "DNS record wiki.hearth.test A could not be removed" in refused.error
    Domain.objects.filter(pk=domain.pk).update(provider_config=bind.provider_config())
    assert wait_for_task(request_app_action(app, "uninstall").pk).state == Task.State.SUCCEEDED
    assert lookup("wiki.hearth.test", "A", bind.server) == []


def test_a_dns_failure_names_the_record_and_a_failed_certificate_leaves_no_record(
    worker, publish, bind, pebble, nginx
):
    # Stored directly: add_domain would refuse the wrong key up front.
    broken = Domain.objects.create(
        name=bind.zone,
        provider="rfc2136",
        provider_config=bind.provider_config(key_secret="d3Jvbmcgc2VjcmV0IGtleQ=="),
        tls_mode="off",
        ipv4="127.0.0.1",
    )
    app, task = install(publish, broken, "docs")
    assert task.state == Task.State.FAILED
    assert "DNS record docs.hearth.test A 127.0.0.1 could not be created" in task.error
    assert "TSIG" in task.error

    # The record is created, but Pebble cannot reach 127.0.0.2 for HTTP-01: the install
    # fails with the CA's reason and takes its record with it.
    unreachable = Domain.objects.create(
        name="other.hearth.test",
        provider="rfc2136",
        provider_config=bind.provider_config(zone=bind.zone),
        tls_mode="acme-http",
        ipv4="127.0.0.2",
    )
    app2, task2 = install(publish, unreachable, "shop")
    assert task2.state == Task.State.FAILED
    assert "certificate for shop.other.hearth.test" in task2.error
    assert "validation failed" in task2.error
    assert "DNS record shop.other.hearth.test A 127.0.0.2 created" in task2.log
    assert lookup("shop.other.hearth.test", "A", bind.server) == []
    assert not Certificate.objects.exists()
