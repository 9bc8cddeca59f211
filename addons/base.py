"""The interface every addon implements, and the description the registry publishes of it.

An addon turns one manifest entry into resources for one app (a database, a container,
credentials), hands them to the app as environment variables, and can dump them into a backup
staging folder, load them back, and remove them. Every step must be safe to run twice: the
install retry path provisions again over whatever a failed attempt left.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from addons.models import AddonInstance
    from panel.core.models import AppInstance


class AddonError(Exception):
    """An addon step failed; the message says which addon and why, in the owner's words."""


class Addon(ABC):
    #: The manifest key, e.g. "mysql".
    name: ClassVar[str]
    #: One line: what the addon gives an app.
    description: ClassVar[str]
    #: Variables set for the app, unprefixed (the app sees HEARTH_<NAME> and CLOUDRON_<NAME>).
    variables: ClassVar[tuple[str, ...]] = ()
    #: Manifest options the addon honours, each with what it does.
    options: ClassVar[dict[str, str]] = {}

    def start_service(self) -> None:
        """Build and start the addon's shared service, if it has one (platform start)."""
        return None

    def service_containers(self) -> list[str]:
        """Names of the shared service containers, for health display and benchmarks."""
        return []

    @abstractmethod
    def provision(self, app: AppInstance, instance: AddonInstance) -> None:
        """Create the app's resources (idempotent). Credentials go into instance.credentials."""

    def env(self, app: AppInstance, instance: AddonInstance) -> dict[str, str]:
        return {}

    def backup(self, app: AppInstance, instance: AddonInstance, staging: Path) -> None:
        """Write the app's addon data under `staging` (a folder of this addon's own)."""
        return None

    def restore(self, app: AppInstance, instance: AddonInstance, staging: Path) -> None:
        """Replace the app's addon data with what backup() wrote under `staging`."""
        return None

    @abstractmethod
    def teardown(self, app: AppInstance, instance: AddonInstance) -> None:
        """Remove every resource provision() may have made (idempotent, missing is fine)."""
