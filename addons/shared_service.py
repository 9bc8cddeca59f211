"""A service container shared by every app that uses one addon (MariaDB, PostgreSQL).

The container sits on the instance's addons network, where the panel administers it, and joins
each app's own network under the addon's name ("mysql", "postgresql"): an app reaches the
server through its own network only, and holds credentials for its own database only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from panel.runtime import services as runtime_services
from panel.runtime.spec import app_resource_names

ADDONS_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class SharedService:
    kind: str
    port: int
    data_path: str
    health_command: str
    ready_probe: tuple[str, ...]
    memory_limit: int

    @property
    def container(self) -> str:
        return f"{settings.HEARTH_INSTANCE}-addon-{self.kind}"

    @property
    def volume(self) -> str:
        return f"{settings.HEARTH_INSTANCE}-addon-{self.kind}-data"

    @property
    def hostname(self) -> str:
        """The name apps reach the service by, on their own network."""
        return self.kind

    def admin_password(self) -> str:
        """The panel's admin secret for this service, made once and kept beside the panel's data.

        The service's start script sets it at every start, so a replaced secret only needs a
        restart of the service.
        """
        path = Path(settings.HEARTH_HOME) / "addons" / f"{self.kind}-admin-password"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.touch(mode=0o600)
            path.write_text(secrets.token_hex(24))
        return path.read_text().strip()

    def start(self) -> bool:
        """Build the image if needed, start the container, wait until it answers."""
        image = runtime_services.ensure_service_image(
            settings.HEARTH_REGISTRY, self.kind, ADDONS_DIR / self.kind
        )
        network = runtime_services.ensure_service_network(settings.HEARTH_INSTANCE)
        created = runtime_services.ensure_service_container(
            runtime_services.ServiceSpec(
                name=self.container,
                image=image,
                network=network,
                labels=runtime_services.service_labels(settings.HEARTH_INSTANCE, self.kind),
                health_command=self.health_command,
                volumes={self.volume: self.data_path},
                env={"HEARTH_ADMIN_PASSWORD": self.admin_password()},
                memory_limit=self.memory_limit,
            )
        )
        runtime_services.wait_until_ready(self.container, list(self.ready_probe))
        return created

    def admin_address(self) -> str:
        """Where the panel connects to administer the service."""
        network = f"{settings.HEARTH_INSTANCE}-addons"
        return runtime_services.container_address_on(self.container, network)

    def attach(self, app_hex_id: str) -> None:
        network = app_resource_names(settings.HEARTH_INSTANCE, app_hex_id).network
        runtime_services.connect_to_network(self.container, network, aliases=(self.hostname,))

    def detach(self, app_hex_id: str) -> None:
        network = app_resource_names(settings.HEARTH_INSTANCE, app_hex_id).network
        runtime_services.disconnect_from_network(self.container, network)
