"""Ed25519 signatures of store releases and store indexes. No Django here.

A store holds one private key. Every release it publishes is signed over a canonical JSON
document of what an installer relies on (app id, version, manifest, image, digest, changelog,
publish date), and the index it serves is signed as a whole. A panel installs only releases
whose signature verifies against a key it trusts, so a tampered manifest or a swapped image
digest is refused wherever it comes from.

Keys travel as the base64 of their 32 raw bytes, short enough to paste into a setting.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)


class SignatureProblem(ValueError):
    """A signature that is missing, malformed, made by an untrusted key, or wrong."""


def canonical_json(data: object) -> bytes:
    """One byte string per JSON value: sorted keys, no spaces, UTF-8.

    Both sides serialise the same decoded value, so key order and whitespace in transit
    do not matter; only the content does.
    """
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def format_published_at(moment: datetime) -> str:
    """Whole seconds in UTC: the form every database gives back unchanged."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def release_document(
    *,
    app_id: str,
    version: str,
    manifest: dict,
    image: str,
    digest: str,
    changelog: str,
    published_at: datetime,
) -> dict:
    """What a release signature covers."""
    return {
        "appId": app_id,
        "version": version,
        "manifest": manifest,
        "image": image,
        "digest": digest,
        "changelog": changelog,
        "publishedAt": format_published_at(published_at),
    }


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def key_fingerprint(public_key: str) -> str:
    """A short name for a key in messages: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key.encode()).hexdigest()[:16]


def parse_public_key(text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError, TypeError):
        raise SignatureProblem(f"{text!r} is not an Ed25519 public key in base64") from None


def load_or_create_private_key(path: str | os.PathLike) -> Ed25519PrivateKey:
    """The store's signing key, generated on first use and kept readable by its owner only."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # Written beside, then linked into place: two processes starting at once must not
        # end up signing with different keys, and nobody may read a half-written file.
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        try:
            os.link(partial, path)
        except FileExistsError:
            pass  # another process won the race; use its key
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureProblem(f"{path} does not hold an Ed25519 private key")
    return key


def sign_document(key: Ed25519PrivateKey, document: object) -> str:
    return base64.b64encode(key.sign(canonical_json(document))).decode()


def verify_document(
    document: object, signature: str, signing_key: str, trusted_keys: Iterable[str]
) -> None:
    """Raise SignatureProblem unless `signature` over `document` is by a trusted key."""
    if not signature:
        raise SignatureProblem("it is not signed")
    if signing_key not in set(trusted_keys):
        raise SignatureProblem(
            f"it is signed by key {key_fingerprint(signing_key)}, which this Hearth does not "
            "trust (add the key to HEARTH_STORE_TRUSTED_KEYS to trust it)"
        )
    try:
        raw_signature = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureProblem("its signature is not base64") from None
    try:
        parse_public_key(signing_key).verify(raw_signature, canonical_json(document))
    except InvalidSignature:
        raise SignatureProblem(
            f"its signature does not match its content (key {key_fingerprint(signing_key)}): "
            "it was changed after it was signed"
        ) from None
