"""App containers, networks and volumes on a Docker Engine, through the Docker SDK."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from functools import cache

import docker
from docker.errors import APIError, ImageNotFound, NotFound

from panel.runtime.firewall import ensure_host_isolation
from panel.runtime.spec import (
    LABEL_APP,
    LABEL_INSTANCE,
    LABEL_ROLE,
    AppResourceNames,
    ContainerSpec,
)

log = logging.getLogger(__name__)


class RuntimeFailure(Exception):
    """A Docker operation failed; the message says which and why, in the user's words."""


@dataclass(frozen=True)
class AppResources:
    containers: list[str]
    networks: list[str]
    volumes: list[str]

    @property
    def empty(self) -> bool:
        return not (self.containers or self.networks or self.volumes)


@dataclass(frozen=True)
class ContainerStatus:
    exists: bool
    running: bool = False
    status: str = "missing"
    oom_killed: bool = False
    restart_count: int = 0


class DockerRuntime:
    def __init__(self, base_url: str, instance: str) -> None:
        self.client = docker.DockerClient(base_url=base_url, timeout=120)
        self.instance = instance

    # Images -----------------------------------------------------------------------------
    def pull_image(self, reference: str) -> str:
        """Pull `reference` from its registry and return the local image id."""
        try:
            return self.client.images.pull(reference).id
        except ImageNotFound:
            raise RuntimeFailure(f"image {reference} is not in the registry") from None
        except APIError as exc:
            raise RuntimeFailure(f"could not pull {reference}: {exc.explanation}") from None

    # Networks and volumes ----------------------------------------------------------------
    def _labels(self, app_hex_id: str, role: str) -> dict[str, str]:
        return {LABEL_INSTANCE: self.instance, LABEL_APP: app_hex_id, LABEL_ROLE: role}

    def ensure_network(self, names: AppResourceNames, app_hex_id: str) -> None:
        ensure_host_isolation()
        try:
            self.client.networks.get(names.network)
        except NotFound:
            self.client.networks.create(
                names.network,
                driver="bridge",
                options={"com.docker.network.bridge.name": names.bridge},
                labels=self._labels(app_hex_id, "network"),
            )

    def ensure_volume(self, names: AppResourceNames, app_hex_id: str) -> None:
        try:
            self.client.volumes.get(names.volume)
        except NotFound:
            self.client.volumes.create(names.volume, labels=self._labels(app_hex_id, "data"))

    # Containers --------------------------------------------------------------------------
    def run_container(self, spec: ContainerSpec) -> str:
        """(Re)create the app's container from `spec`, start it, and return its address."""
        self.remove_container(spec.name)
        try:
            container = self.client.containers.create(**spec.docker_create_kwargs())
            container.start()
        except APIError as exc:
            self.remove_container(spec.name)
            raise RuntimeFailure(
                f"could not start container {spec.name}: {exc.explanation}"
            ) from None
        return self.container_address(spec.name, spec.network)

    def container_address(self, name: str, network: str) -> str:
        container = self.client.containers.get(name)
        address = container.attrs["NetworkSettings"]["Networks"].get(network, {}).get("IPAddress")
        if address:
            return address
        state = container.attrs["State"]
        if state.get("Restarting") or not state.get("Running"):
            # An app that dies at start has no address; what it printed says why.
            logs = container.logs(tail=15).decode(errors="replace").strip()
            raise RuntimeFailure(
                f"the container exited with code {state.get('ExitCode')} right after start"
                + (f"; last log lines:\n{logs}" if logs else "")
            )
        raise RuntimeFailure(f"container {name} has no address on network {network}")

    def container_status(self, name: str) -> ContainerStatus:
        try:
            container = self.client.containers.get(name)
        except NotFound:
            return ContainerStatus(exists=False)
        state = container.attrs["State"]
        return ContainerStatus(
            exists=True,
            running=bool(state.get("Running")),
            status=state.get("Status", "unknown"),
            oom_killed=bool(state.get("OOMKilled")),
            restart_count=int(container.attrs.get("RestartCount", 0)),
        )

    def start_container(self, name: str) -> None:
        self._container(name).start()

    def stop_container(self, name: str, timeout: int = 20) -> None:
        self._container(name).stop(timeout=timeout)

    def restart_container(self, name: str, timeout: int = 20) -> None:
        self._container(name).restart(timeout=timeout)

    def remove_container(self, name: str) -> None:
        with contextlib.suppress(NotFound):
            self.client.containers.get(name).remove(force=True)

    def container_logs(self, name: str, tail: int = 200) -> str:
        try:
            return self._container(name).logs(tail=tail).decode(errors="replace")
        except RuntimeFailure:
            return ""

    def exec_in_container(self, name: str, command: list[str]) -> tuple[int, str]:
        result = self._container(name).exec_run(command, demux=False)
        return result.exit_code, (result.output or b"").decode(errors="replace")

    def _container(self, name: str):
        try:
            return self.client.containers.get(name)
        except NotFound:
            raise RuntimeFailure(f"container {name} does not exist") from None

    # Everything of one app ---------------------------------------------------------------
    def _filters(self, app_hex_id: str | None) -> dict:
        labels = [f"{LABEL_INSTANCE}={self.instance}"]
        # Shared addon services carry the instance label but belong to no app: "every app's
        # resources" must not include them, or the reconcile would remove them as orphans.
        labels.append(LABEL_APP if app_hex_id is None else f"{LABEL_APP}={app_hex_id}")
        return {"label": labels}

    def app_resources(self, app_hex_id: str | None = None) -> AppResources:
        """What Docker holds for one app (or for every app of this Hearth when None)."""
        filters = self._filters(app_hex_id)
        return AppResources(
            containers=sorted(
                c.name for c in self.client.containers.list(all=True, filters=filters)
            ),
            networks=sorted(n.name for n in self.client.networks.list(filters=filters)),
            volumes=sorted(v.name for v in self.client.volumes.list(filters=filters)),
        )

    def remove_app(self, app_hex_id: str) -> AppResources:
        """Remove every container, network and volume labelled with the app; return what went."""
        filters = self._filters(app_hex_id)
        removed = self.app_resources(app_hex_id)
        for container in self.client.containers.list(all=True, filters=filters):
            container.remove(force=True, v=True)
        for network in self.client.networks.list(filters=filters):
            network.remove()
        for volume in self.client.volumes.list(filters=filters):
            volume.remove(force=True)
        return removed


@cache
def get_runtime() -> DockerRuntime:
    from django.conf import settings

    return DockerRuntime(settings.HEARTH_DOCKER_URL, settings.HEARTH_INSTANCE)
