"""Secrets of backup targets (the restic password, S3 secret keys) encrypted at rest.

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with a key kept in a file of its own
under HEARTH_HOME, made 0600 on first use. A copy of the database alone (a dump, a stolen
disk image of it) then holds no usable recovery key; the owner's copy of the recovery key is
what a new server needs, not this file.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

# Stored values start with this, so a plaintext value of an older row is told apart.
PREFIX = "fernet:"
KEY_FILE = "backup-secrets.key"


class SecretUnreadable(Exception):
    """A stored secret does not decrypt with this server's key file."""


def key_path() -> Path:
    return Path(settings.HEARTH_HOME) / KEY_FILE


def _load_or_create_key(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting at once must not each write a different key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    return key


@cache
def _fernet(path: str) -> Fernet:
    return Fernet(_load_or_create_key(Path(path)))


def encrypt(value: str) -> str:
    if not value:
        return ""
    return PREFIX + _fernet(str(key_path())).encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    """The secret; a value stored before encryption (no prefix) comes back as it is."""
    if not stored or not stored.startswith(PREFIX):
        return stored or ""
    try:
        return _fernet(str(key_path())).decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            f"a backup target secret does not decrypt with {key_path()}: the key file was "
            "replaced; enter the target's recovery key and keys again"
        ) from None
