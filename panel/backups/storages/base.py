"""What every backup storage provides: a write/list/delete check that names the field to fix,
and the restic repository location (plus environment) for a target of its kind."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from panel.backups.models import BackupTarget

PROBE_PREFIX = ".hearth-write-check-"


class BackupStorage(ABC):
    kind: str
    label: str
    # The BackupTarget fields this kind uses; the form shows these.
    fields: tuple[str, ...]
    required: tuple[str, ...]

    def missing_fields(self, target: BackupTarget) -> dict[str, str]:
        return {
            name: "This field is required for this kind of target."
            for name in self.required
            if not str(getattr(target, name) or "").strip()
        }

    @abstractmethod
    def check(self, target: BackupTarget) -> dict[str, str]:
        """Write, list and delete a probe object there; field errors, empty when all worked."""

    @abstractmethod
    def repository_location(self, target: BackupTarget) -> str:
        """restic's `--repo` value."""

    def repository_env(self, target: BackupTarget) -> dict[str, str]:
        return {}
