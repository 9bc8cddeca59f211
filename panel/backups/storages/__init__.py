"""The registry of backup storages: one sub-package per kind, each registering itself."""

from __future__ import annotations

from panel.backups.storages.base import BackupStorage

_STORAGES: dict[str, BackupStorage] = {}


def register(cls: type[BackupStorage]) -> type[BackupStorage]:
    _STORAGES[cls.kind] = cls()
    return cls


def get_storage(kind: str) -> BackupStorage:
    try:
        return _STORAGES[kind]
    except KeyError:
        raise LookupError(f"no backup storage of kind {kind!r}") from None


def all_storages() -> list[BackupStorage]:
    return list(_STORAGES.values())


# Imported for their @register side effect, after register exists.
from panel.backups.storages import filesystem, s3  # noqa: E402,F401
