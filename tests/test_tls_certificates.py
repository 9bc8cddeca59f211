"""Uploaded certificates: checked with `cryptography` (key, chain, names, dates) and, once
accepted, served by nginx for the app they were uploaded for."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.urls import reverse
from django.utils import timezone

from panel.domains.certificates import CertificateProblem, check_certificate, name_is_covered

NOW = datetime.datetime(2026, 11, 25, tzinfo=datetime.UTC)


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _pem(cert) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _key_pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _cert(subject, key, issuer, issuer_key, *, ca, names=(), start=None, end=None):
    start = start or NOW - datetime.timedelta(days=1)
    end = end or NOW + datetime.timedelta(days=90)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


class Pki:
    """A root, an intermediate, and leaves the tests ask for."""

    def __init__(self) -> None:
        self.root_key, self.intermediate_key = _key(), _key()
        self.root = _cert(
            "Test Root",
            self.root_key,
            "Test Root",
            self.root_key,
            ca=True,
            end=NOW + datetime.timedelta(days=3650),
        )
        self.intermediate = _cert(
            "Test Intermediate",
            self.intermediate_key,
            "Test Root",
            self.root_key,
            ca=True,
            end=NOW + datetime.timedelta(days=3650),
        )

    def leaf(self, names, **dates):
        key = _key()
        cert = _cert(
            names[0],
            key,
            "Test Intermediate",
            self.intermediate_key,
            ca=False,
            names=names,
            **dates,
        )
        return cert, key

    def chain(self, names, **dates) -> tuple[str, str]:
        cert, key = self.leaf(names, **dates)
        return _pem(cert) + _pem(self.intermediate), _key_pem(key)


@pytest.fixture(scope="module")
def pki():
    return Pki()


def test_a_complete_matching_current_chain_is_accepted(pki):
    fullchain, key = pki.chain(["blog.example.com"])
    info = check_certificate(fullchain, key, ["blog.example.com"], NOW)
    assert info.names == ["blog.example.com"]
    assert info.not_after == NOW + datetime.timedelta(days=90)


def test_a_key_of_another_certificate_is_refused(pki):
    fullchain, _ = pki.chain(["blog.example.com"])
    _, other_key = pki.chain(["blog.example.com"])
    with pytest.raises(CertificateProblem) as caught:
        check_certificate(fullchain, other_key, ["blog.example.com"], NOW)
    assert "does not belong" in caught.value.errors["key"]


def test_a_leaf_without_its_intermediate_is_incomplete(pki):
    cert, key = pki.leaf(["blog.example.com"])
    with pytest.raises(CertificateProblem, match="incomplete"):
        check_certificate(_pem(cert), _key_pem(key), ["blog.example.com"], NOW)


def test_a_chain_in_the_wrong_order_is_refused(pki):
    cert, key = pki.leaf(["blog.example.com"])
    fullchain = _pem(cert) + _pem(pki.root) + _pem(pki.intermediate)
    with pytest.raises(CertificateProblem, match="out of order or broken"):
        check_certificate(fullchain, _key_pem(key), ["blog.example.com"], NOW)


def test_names_not_covered_are_listed(pki):
    fullchain, key = pki.chain(["blog.example.com"])
    with pytest.raises(CertificateProblem) as caught:
        check_certificate(fullchain, key, ["shop.example.com"], NOW)
    assert "does not cover shop.example.com" in caught.value.errors["certificate"]


def test_expired_and_not_yet_valid_certificates_are_refused(pki):
    fullchain, key = pki.chain(
        ["blog.example.com"],
        start=NOW - datetime.timedelta(days=100),
        end=NOW - datetime.timedelta(days=10),
    )
    with pytest.raises(CertificateProblem, match="expired on"):
        check_certificate(fullchain, key, ["blog.example.com"], NOW)
    fullchain, key = pki.chain(["blog.example.com"], start=NOW + datetime.timedelta(days=2))
    with pytest.raises(CertificateProblem, match="not valid before"):
        check_certificate(fullchain, key, ["blog.example.com"], NOW)


def test_text_that_is_not_pem_is_refused(pki):
    _, key = pki.chain(["blog.example.com"])
    with pytest.raises(CertificateProblem, match="not a PEM certificate"):
        check_certificate("hello", key, ["blog.example.com"], NOW)
    fullchain, _ = pki.chain(["blog.example.com"])
    with pytest.raises(CertificateProblem, match="not an unencrypted PEM private key"):
        check_certificate(fullchain, "nope", ["blog.example.com"], NOW)


def test_a_wildcard_covers_exactly_one_label():
    assert name_is_covered("blog.example.com", ["*.example.com"])
    assert not name_is_covered("example.com", ["*.example.com"])
    assert not name_is_covered("a.blog.example.com", ["*.example.com"])
    assert name_is_covered("Example.com", ["example.com"])


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_uploaded_certificate_is_served_for_the_app_and_bad_ones_change_nothing(
    pki, worker, publish, nginx, owner_client, tmp_path
):
    from panel.core.models import Task
    from panel.core.services import install_app, request_app_action
    from panel.domains.models import Certificate, Domain
    from tests.conftest import wait_for_task
    from tests.fixtures_domains import fetch_tls

    domain = Domain.objects.create(name="upload.test", provider="noop", tls_mode="custom")
    app = install_app(release=publish("staticsite"), subdomain="site", domain=domain)
    assert wait_for_task(app.tasks.get().pk).state == Task.State.SUCCEEDED
    app.refresh_from_db()
    root = tmp_path / "root.pem"
    root.write_text(_pem(pki.root))
    url = reverse("domains:certificate", args=[domain.pk])

    # For another name: refused, nothing stored, the app stays on plain HTTP.
    fullchain, key = pki.chain(
        ["other.upload.test"], end=timezone.now() + datetime.timedelta(days=30)
    )
    refused = owner_client.post(url, {"fullchain": fullchain, "key": key, "app": str(app.pk)})
    assert refused.status_code == 400
    assert "does not cover site.upload.test" in refused.context["form"].errors["fullchain"][0]
    assert not Certificate.objects.exists()

    fullchain, key = pki.chain(
        ["site.upload.test"], end=timezone.now() + datetime.timedelta(days=30)
    )
    accepted = owner_client.post(url, {"fullchain": fullchain, "key": key, "app": str(app.pk)})
    assert accepted.status_code == 302
    status, headers, body, leaf = fetch_tls("site.upload.test", str(root))
    assert status == 200 and "Welcome to your website" in body
    assert x509.load_der_x509_certificate(leaf) == x509.load_pem_x509_certificate(
        fullchain.encode()
    )
    assert wait_for_task(request_app_action(app, "uninstall").pk).state == Task.State.SUCCEEDED


@pytest.mark.django_db
def test_expiring_uploaded_certificates_are_announced_once_a_day(pki, owner):
    from django.core import mail

    from panel.core.models import Event
    from panel.domains.models import Certificate, Domain
    from panel.domains.services import warn_expiring_uploads

    domain = Domain.objects.create(name="upload.test", tls_mode="custom")
    now = timezone.now()
    fullchain, key = pki.chain(["*.upload.test"])
    Certificate.objects.create(
        domain=domain,
        source="custom",
        names=["*.upload.test"],
        fullchain_pem=fullchain,
        key_pem=key,
        not_before=now - datetime.timedelta(days=80),
        not_after=now + datetime.timedelta(days=10),
    )
    assert warn_expiring_uploads(now) == 1
    assert "expires soon" in mail.outbox[-1].subject
    assert Event.objects.filter(action="certificate_expiring").count() == 1
    assert warn_expiring_uploads(now + datetime.timedelta(hours=2)) == 0
    assert warn_expiring_uploads(now + datetime.timedelta(days=1, minutes=1)) == 1
