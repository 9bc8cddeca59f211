"""Dynamic DNS: the public address (from a local HTTP service standing in for the real one)
is followed by the app records in BIND."""

from __future__ import annotations

import http.server
import threading

import pytest

from panel.core.models import AppInstance, Event
from panel.domains.models import Domain
from panel.domains.providers.resolve import lookup
from panel.domains.services import DomainRejected, add_domain, update_dynamic_dns

pytestmark = pytest.mark.django_db


@pytest.fixture
def address_service():
    """An HTTP service answering with whatever address the test sets."""
    answer = {"body": "127.0.0.9"}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            body = answer["body"].encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass  # the test's HTTP server would print every request into the test output

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/", answer
    server.shutdown()


def _app(domain, subdomain):
    return AppInstance.objects.create(
        title=subdomain,
        version="1",
        manifest={},
        image="x",
        subdomain=subdomain,
        domain=domain,
        memory_limit=1,
    )


def test_records_follow_a_changed_public_address(bind, address_service, settings):
    url, answer = address_service
    settings.HEARTH_PUBLIC_IP_URL = url
    domain = Domain.objects.create(
        name="dyn.hearth.test",
        provider="rfc2136",
        provider_config=bind.provider_config(zone=bind.zone),
        ipv4="127.0.0.1",
        dynamic_dns=True,
    )
    _app(domain, "home")
    _app(domain, "photos")

    assert update_dynamic_dns() == {"updated": 1, "failed": 0}
    assert lookup("home.dyn.hearth.test", "A", bind.server) == ["127.0.0.9"]
    assert lookup("photos.dyn.hearth.test", "A", bind.server) == ["127.0.0.9"]
    domain.refresh_from_db()
    assert domain.ipv4 == "127.0.0.9"
    # Unchanged address: nothing written.
    assert update_dynamic_dns() == {"updated": 0, "failed": 0}

    answer["body"] = "127.0.0.10\n"
    assert update_dynamic_dns() == {"updated": 1, "failed": 0}
    assert lookup("home.dyn.hearth.test", "A", bind.server) == ["127.0.0.10"]
    assert Event.objects.filter(action="dynamic_dns", message__contains="→ 127.0.0.10").exists()


def test_a_bad_answer_or_refused_update_changes_nothing(bind, address_service, settings):
    url, answer = address_service
    settings.HEARTH_PUBLIC_IP_URL = url
    domain = Domain.objects.create(
        name="dyn2.hearth.test",
        provider="rfc2136",
        provider_config=bind.provider_config(zone=bind.zone, key_secret="d3Jvbmcgc2VjcmV0IGtleQ=="),
        ipv4="127.0.0.1",
        dynamic_dns=True,
    )
    _app(domain, "home")
    answer["body"] = "not an address"
    assert update_dynamic_dns() == {"updated": 0, "failed": 1}
    answer["body"] = "127.0.0.11"
    assert update_dynamic_dns() == {"updated": 0, "failed": 1}
    domain.refresh_from_db()
    assert domain.ipv4 == "127.0.0.1"
    assert Event.objects.filter(action="dynamic_dns", outcome="failed").exists()


def test_dynamic_dns_needs_a_provider_that_writes_records():
    with pytest.raises(DomainRejected) as caught:
        add_domain(name="example.org", provider="manual", dynamic_dns=True)
    assert "dynamic_dns" in caught.value.errors
