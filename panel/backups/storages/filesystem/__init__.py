"""A folder on this server (or a mounted disk): the restic repository lives in `path`."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from panel.backups.storages import register
from panel.backups.storages.base import PROBE_PREFIX, BackupStorage

if TYPE_CHECKING:
    from panel.backups.models import BackupTarget


@register
class FilesystemStorage(BackupStorage):
    kind = "filesystem"
    label = "Folder on this server"
    fields = ("path",)
    required = ("path",)

    def check(self, target: BackupTarget) -> dict[str, str]:
        errors = self.missing_fields(target)
        if errors:
            return errors
        folder = Path(target.path)
        if not folder.is_absolute():
            return {"path": "Use an absolute path (starting with /)."}
        step = f"create the folder {folder}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f"{PROBE_PREFIX}{secrets.token_hex(6)}"
            step = f"write a file in {folder}"
            probe.write_bytes(b"hearth")
            step = f"list {folder}"
            if probe.name not in {entry.name for entry in folder.iterdir()}:
                return {"path": f"A file written in {folder} does not show when listing it."}
            step = f"delete a file in {folder}"
            probe.unlink()
        except OSError as exc:
            return {"path": f"Hearth could not {step}: {exc.strerror or exc}."}
        return {}

    def repository_location(self, target: BackupTarget) -> str:
        return str(Path(target.path))
