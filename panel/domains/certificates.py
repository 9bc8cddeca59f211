"""Certificate checks with `cryptography`: no Django, no I/O, so they are quick to test.

Used for uploaded certificates (is this pair usable for these names, now?) and to read the
dates of issued ones.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


class CertificateProblem(Exception):
    """What is wrong with a certificate, keyed by the form field to show it on."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors.values()))


@dataclass(frozen=True)
class CertificateInfo:
    names: list[str]
    not_before: datetime.datetime
    not_after: datetime.datetime


def parse_chain(fullchain_pem: str) -> list[x509.Certificate]:
    try:
        chain = x509.load_pem_x509_certificates(fullchain_pem.encode())
    except ValueError:
        return []
    return chain


def dns_names(certificate: x509.Certificate) -> list[str]:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [name.lower() for name in san.value.get_values_for_type(x509.DNSName)]


def name_is_covered(name: str, patterns: list[str]) -> bool:
    """RFC 6125 matching: a wildcard stands for exactly one whole left-most label."""
    name = name.lower()
    for pattern in patterns:
        if pattern == name:
            return True
        if pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]:
            return True
    return False


def describe(fullchain_pem: str) -> CertificateInfo:
    leaf = parse_chain(fullchain_pem)[0]
    return CertificateInfo(
        names=dns_names(leaf),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
    )


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def check_certificate(
    fullchain_pem: str, key_pem: str, names: list[str], now: datetime.datetime
) -> CertificateInfo:
    """The certificate's names and dates, or CertificateProblem saying what is wrong.

    Checked: the PEM parses; the key is the leaf's key; each certificate in the chain is
    signed by the next and an intermediate is present unless the leaf is self-signed (nginx
    sends exactly this chain, so a missing intermediate breaks clients); every name in
    `names` is covered; and it is valid now.
    """
    chain = parse_chain(fullchain_pem)
    if not chain:
        raise CertificateProblem({"certificate": "This is not a PEM certificate chain."})
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise CertificateProblem({"key": "This is not an unencrypted PEM private key."}) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CertificateProblem({"key": "Use an RSA or ECDSA key."})
    leaf = chain[0]
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(
        serialization.Encoding.DER, public
    ) != leaf.public_key().public_bytes(serialization.Encoding.DER, public):
        raise CertificateProblem({"key": "This key does not belong to the certificate."})
    for child, parent in zip(chain, chain[1:], strict=False):
        if not _issued_by(child, parent):
            raise CertificateProblem(
                {
                    "certificate": "The chain is out of order or broken: "
                    f"{child.subject.rfc4514_string()} is not signed by "
                    f"{parent.subject.rfc4514_string()}."
                }
            )
    if len(chain) == 1 and not _issued_by(leaf, leaf):
        raise CertificateProblem(
            {
                "certificate": "The chain is incomplete: paste the certificate followed by its "
                "intermediate certificate(s)."
            }
        )
    covered = dns_names(leaf)
    missing = [name for name in names if not name_is_covered(name, covered)]
    if missing:
        raise CertificateProblem(
            {
                "certificate": f"The certificate does not cover {', '.join(missing)} "
                f"(it covers {', '.join(covered) or 'no DNS names'})."
            }
        )
    if leaf.not_valid_after_utc <= now:
        raise CertificateProblem(
            {"certificate": f"The certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}."}
        )
    if leaf.not_valid_before_utc > now:
        raise CertificateProblem(
            {
                "certificate": "The certificate is not valid before "
                f"{leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC."
            }
        )
    return CertificateInfo(
        names=covered, not_before=leaf.not_valid_before_utc, not_after=leaf.not_valid_after_utc
    )
