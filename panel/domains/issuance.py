"""Getting a certificate from an ACME CA (Let's Encrypt, or Pebble in tests) with the `acme`
library. No Django: the caller passes the CA, the account file and a challenge solver.

HTTP-01 answers are files nginx serves from its acme-challenge folder on port 80, for every
host; DNS-01 answers are TXT records set through the domain's DNS provider.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import josepy as jose
from acme import challenges, client, crypto_util, errors, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from panel.domains.providers import DnsProvider, ProviderError, Record

USER_AGENT = "hearth"


class IssuanceError(Exception):
    pass


@dataclass(frozen=True)
class AcmeSettings:
    directory: str
    # The CA bundle to trust the ACME API's own TLS with; empty: the system's.
    ca_bundle: str
    account_folder: Path
    email: str = ""


@dataclass
class Issued:
    fullchain_pem: str
    key_pem: str


class HttpSolver:
    """HTTP-01: the key authorization as a file named after the token."""

    challenge_type = challenges.HTTP01

    def __init__(self, webroot: Path) -> None:
        self.webroot = webroot
        self.written: list[Path] = []

    def prepare(self, answers: list[tuple[str, messages.ChallengeBody, jose.JWK]]) -> None:
        self.webroot.mkdir(parents=True, exist_ok=True)
        for _name, body, key in answers:
            path = self.webroot / body.chall.encode("token")
            path.write_text(body.chall.validation(key))
            path.chmod(0o644)
            self.written.append(path)

    def cleanup(self) -> None:
        for path in self.written:
            path.unlink(missing_ok=True)


@dataclass
class DnsSolver:
    """DNS-01: TXT records at _acme-challenge.<name>; a name and its wildcard share one."""

    provider: DnsProvider
    challenge_type = challenges.DNS01
    written: list[str] = field(default_factory=list)

    def prepare(self, answers: list[tuple[str, messages.ChallengeBody, jose.JWK]]) -> None:
        values: dict[str, list[str]] = defaultdict(list)
        for name, body, key in answers:
            values[body.chall.validation_domain_name(name)].append(body.chall.validation(key))
        for record_name, texts in values.items():
            self.provider.set_record(
                Record(record_name, "TXT", tuple(f'"{t}"' for t in texts), ttl=60)
            )
            self.written.append(record_name)
        self.provider.wait_until_applied()

    def cleanup(self) -> None:
        for record_name in self.written:
            # A stale challenge record is harmless: the next order replaces it.
            with contextlib.suppress(ProviderError):
                self.provider.delete_record(record_name, "TXT")


def _account_key(settings: AcmeSettings) -> jose.JWKRSA:
    """One account key per CA, made on first use and kept beside the data."""
    settings.account_folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(settings.directory.encode()).hexdigest()[:16]
    path = settings.account_folder / f"account-{digest}.json"
    if path.exists():
        return jose.JWKRSA.json_loads(path.read_text())
    key = jose.JWKRSA(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text(json.dumps(key.to_json()))
    os.replace(tmp, path)
    return key


def _client(settings: AcmeSettings) -> tuple[client.ClientV2, jose.JWKRSA]:
    key = _account_key(settings)
    net = client.ClientNetwork(
        key, user_agent=USER_AGENT, verify_ssl=settings.ca_bundle or True, timeout=30
    )
    directory = client.ClientV2.get_directory(settings.directory, net)
    acme = client.ClientV2(directory, net=net)
    registration = messages.NewRegistration.from_data(
        email=settings.email or None, terms_of_service_agreed=True
    )
    try:
        acme.new_account(registration)
    except errors.ConflictError as existing:
        # The CA knows this key already: use that account.
        net.account = messages.RegistrationResource(
            uri=existing.location, body=messages.Registration()
        )
    return acme, key


def new_private_key_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def issue_certificate(
    names: list[str], solver: HttpSolver | DnsSolver, settings: AcmeSettings, timeout: int = 90
) -> Issued:
    """Order a certificate for `names`, answer every challenge with `solver`, and finalize."""
    try:
        acme, account_key = _client(settings)
        key_pem = new_private_key_pem()
        order = acme.new_order(crypto_util.make_csr(key_pem, names))
        answers = []
        for authorization in order.authorizations:
            identifier = authorization.body.identifier.value
            if authorization.body.status == messages.STATUS_VALID:
                continue
            body = next(
                (
                    c
                    for c in authorization.body.challenges
                    if isinstance(c.chall, solver.challenge_type)
                ),
                None,
            )
            if body is None:
                raise IssuanceError(
                    f"the CA offers no {solver.challenge_type.typ} challenge for {identifier}"
                )
            answers.append((identifier, body, account_key))
        solver.prepare(answers)
        try:
            for _name, body, key in answers:
                acme.answer_challenge(body, body.response(key))
            deadline = datetime.datetime.now() + datetime.timedelta(seconds=timeout)
            finished = acme.poll_and_finalize(order, deadline=deadline)
        finally:
            solver.cleanup()
    except errors.ValidationError as exc:
        raise IssuanceError(_validation_failures(exc)) from None
    except (errors.Error, messages.Error) as exc:
        raise IssuanceError(f"the CA refused: {exc}") from None
    except ProviderError as exc:
        raise IssuanceError(f"DNS-01 record: {exc}") from None
    except OSError as exc:  # requests' connection errors are OSErrors too
        raise IssuanceError(f"cannot reach the CA at {settings.directory}: {exc}") from None
    return Issued(fullchain_pem=finished.fullchain_pem, key_pem=key_pem.decode())


def _validation_failures(exc: errors.ValidationError) -> str:
    reasons = []
    for authorization in exc.failed_authzrs:
        for challenge in authorization.body.challenges:
            if challenge.error is not None:
                reasons.append(
                    f"{authorization.body.identifier.value}: {challenge.chall.typ} "
                    f"{challenge.error.detail or challenge.error.typ}"
                )
    return "validation failed: " + ("; ".join(reasons) or str(exc))
