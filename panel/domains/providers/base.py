"""The interface every DNS provider implements. No Django here: providers are plain objects
built from a zone name and the owner's provider settings, testable against real servers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


class ProviderError(Exception):
    """A provider could not do what was asked; `field` names the setting to blame, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class ConfigField:
    name: str
    label: str
    required: bool = True
    secret: bool = False
    help: str = ""
    default: str = ""


@dataclass(frozen=True)
class Record:
    """One record set: `name` is fully qualified without the trailing dot."""

    name: str
    rtype: str
    values: tuple[str, ...]
    ttl: int = 300

    def __str__(self) -> str:
        return f"{self.name} {self.rtype} {' '.join(self.values)}"


class DnsProvider:
    kind: ClassVar[str]
    label: ClassVar[str]
    fields: ClassVar[tuple[ConfigField, ...]] = ()
    # Whether set_record really puts records in public DNS (so DNS-01 and wildcards work).
    automatic: ClassVar[bool] = False

    def __init__(self, zone: str, config: dict[str, str]) -> None:
        self.zone = zone.rstrip(".").lower()
        self.config = {f.name: str(config.get(f.name) or f.default) for f in self.fields}

    @classmethod
    def config_errors(cls, config: dict[str, str]) -> dict[str, str]:
        """Field errors for missing settings, before any network call."""
        return {
            f.name: f"{f.label} is required."
            for f in cls.fields
            if f.required and not str(config.get(f.name) or f.default).strip()
        }

    def verify(self) -> None:
        """Check the settings against the real service; raises ProviderError."""

    def set_record(self, record: Record) -> None:
        """Create or replace the record set `record.name`/`record.rtype`."""

    def delete_record(self, name: str, rtype: str) -> None:
        """Remove the record set if it exists; removing a missing one is not an error."""

    def wait_until_applied(self, timeout: float = 120) -> None:
        """Block until the changes made so far are served (before a CA looks at them)."""

    def instructions(self, record: Record) -> str | None:
        """What the owner must do by hand for `record`, when the provider cannot."""
        return None
