"""App containers, networks and volumes on a Docker Engine, through the Docker SDK."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import docker
from docker.errors import APIError, ImageNotFound, NotFound

from panel.runtime.firewall import ensure_host_isolation
from panel.runtime.spec import (
    APP_SUBNET_PREFIX,
    LABEL_APP,
    LABEL_INSTANCE,
    LABEL_ROLE,
    AppResourceNames,
    ContainerSpec,
    app_container_address,
    dynamic_range,
    free_app_subnets,
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
class LogFileRead:
    """A read of a log file by its position in the whole log (see read_log_file)."""

    size: int  # of the file now; -1: it does not exist
    rotated: int  # bytes rotated out of the file so far (the file starts there in the log)
    start: int  # where `data` starts in the log; -1: the file shrank below the position
    data: bytes


@dataclass(frozen=True)
class ContainerStatus:
    exists: bool
    running: bool = False
    status: str = "missing"
    oom_killed: bool = False
    restart_count: int = 0
    id: str = ""


class DockerRuntime:
    def __init__(self, base_url: str, instance: str, subnet_pool: str = "172.16.0.0/16") -> None:
        self.client = docker.DockerClient(base_url=base_url, timeout=120)
        self.instance = instance
        self.subnet_pool = ipaddress.ip_network(subnet_pool)

    # Images -----------------------------------------------------------------------------
    def pull_image(self, reference: str) -> str:
        """Pull `reference` from its registry and return the local image id.

        A reference pinned by digest names exactly one content: if Docker has it already,
        asking the registry again would only cost a round trip.
        """
        if "@sha256:" in reference:
            with contextlib.suppress(ImageNotFound):
                return self.client.images.get(reference).id
        try:
            return self.client.images.pull(reference).id
        except ImageNotFound:
            raise RuntimeFailure(f"image {reference} is not in the registry") from None
        except APIError as exc:
            raise RuntimeFailure(f"could not pull {reference}: {exc.explanation}") from None

    # Networks and volumes ----------------------------------------------------------------
    def _labels(self, app_hex_id: str, role: str) -> dict[str, str]:
        return {LABEL_INSTANCE: self.instance, LABEL_APP: app_hex_id, LABEL_ROLE: role}

    def ensure_network(self, names: AppResourceNames, app_hex_id: str) -> str:
        """Make sure the app's own network exists; return the address its container gets.

        The network gets a subnet of Hearth's pool and the app container a fixed address in
        it, so nginx can be pointed at the app while the container is still being created
        (an nginx reload takes ~110 ms, a container start ~300 ms: they overlap).
        """
        ensure_host_isolation()
        try:
            network = self.client.networks.get(names.network)
        except NotFound:
            network = self._create_app_network(names, app_hex_id)
        subnets = [c["Subnet"] for c in network.attrs["IPAM"]["Config"] or [] if "Subnet" in c]
        if not subnets:
            raise RuntimeFailure(f"network {names.network} has no subnet")
        return app_container_address(subnets[0])

    def _used_subnets(self) -> list[ipaddress.IPv4Network]:
        used = []
        for network in self.client.networks.list(greedy=False):
            for config in network.attrs.get("IPAM", {}).get("Config") or []:
                with contextlib.suppress(KeyError, ValueError):
                    used.append(ipaddress.ip_network(config["Subnet"]))
        return used

    def _create_app_network(self, names: AppResourceNames, app_hex_id: str):
        for subnet in free_app_subnets(self.subnet_pool, self._used_subnets()):
            ipam = docker.types.IPAMConfig(
                pool_configs=[
                    docker.types.IPAMPool(
                        subnet=str(subnet),
                        gateway=str(subnet[1]),
                        iprange=str(dynamic_range(subnet)),
                    )
                ]
            )
            try:
                return self.client.networks.create(
                    names.network,
                    driver="bridge",
                    ipam=ipam,
                    options={"com.docker.network.bridge.name": names.bridge},
                    labels=self._labels(app_hex_id, "network"),
                )
            except APIError as exc:
                # Another Hearth (or a test session) took the same subnet a moment ago.
                if "overlap" not in str(exc.explanation).lower():
                    raise RuntimeFailure(
                        f"could not create network {names.network}: {exc.explanation}"
                    ) from None
        raise RuntimeFailure(
            f"no free /{APP_SUBNET_PREFIX} subnet is left in {self.subnet_pool} for app networks;"
            " set HEARTH_APP_SUBNETS to a larger private range"
        )

    def ensure_volume(self, names: AppResourceNames, app_hex_id: str) -> None:
        try:
            self.client.volumes.get(names.volume)
        except NotFound:
            self.client.volumes.create(names.volume, labels=self._labels(app_hex_id, "data"))

    # Containers --------------------------------------------------------------------------
    def run_container(self, spec: ContainerSpec, *, restart: bool = True) -> str:
        """(Re)create the app's container from `spec`, start it, and return its address.

        `restart=False` leaves Docker's restart policy off (a new version on trial: if it
        crashes it should stay down and say so, not crash-loop beside the serving one).
        """
        self.remove_container(spec.name)
        kwargs = spec.docker_create_kwargs()
        if not restart:
            kwargs["restart_policy"] = {"Name": "no"}
        if spec.ipv4_address:
            kwargs["networking_config"] = {
                spec.network: self.client.api.create_endpoint_config(ipv4_address=spec.ipv4_address)
            }
        try:
            container = self.client.containers.create(**kwargs)
            container.start()
        except APIError as exc:
            self.remove_container(spec.name)
            raise RuntimeFailure(
                f"could not start container {spec.name}: {exc.explanation}"
            ) from None
        return self.container_address(spec.name, spec.network)

    def network_subnet(self, network: str) -> str:
        """The subnet of an app network (where its containers take their fixed addresses)."""
        try:
            config = self.client.networks.get(network).attrs["IPAM"]["Config"] or []
        except NotFound:
            raise RuntimeFailure(f"network {network} does not exist") from None
        subnets = [c["Subnet"] for c in config if "Subnet" in c]
        if not subnets:
            raise RuntimeFailure(f"network {network} has no subnet")
        return subnets[0]

    def container_image(self, name: str) -> str | None:
        """The image reference the container was created from (None if it does not exist)."""
        try:
            return self.client.containers.get(name).attrs["Config"]["Image"]
        except NotFound:
            return None

    def keep_restarting(self, name: str) -> None:
        """Give a running container the restart policy app containers have."""
        try:
            self._container(name).update(restart_policy={"Name": "unless-stopped"})
        except APIError as exc:
            raise RuntimeFailure(f"could not update container {name}: {exc.explanation}") from None

    def rename_container(self, name: str, new_name: str) -> None:
        """Give a (running) container another name; it keeps its address and processes."""
        try:
            self._container(name).rename(new_name)
        except APIError as exc:
            raise RuntimeFailure(
                f"could not rename container {name} to {new_name}: {exc.explanation}"
            ) from None

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
            id=container.id,
        )

    def start_container(self, name: str) -> None:
        self._container(name).start()

    def stop_container(self, name: str, timeout: int = 20) -> None:
        self._container(name).stop(timeout=timeout)

    def restart_container(self, name: str, timeout: int = 20) -> None:
        self._container(name).restart(timeout=timeout)

    def pause_container(self, name: str) -> None:
        """Freeze the container's processes (cgroup freezer); its files stop changing."""
        self._container(name).pause()

    def unpause_container(self, name: str) -> None:
        self._container(name).unpause()

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

    # Monitoring: logs, stats, events, disk use, images, terminals ------------------------
    def stream_logs(self, name: str, *, since: int | None = None, tail: int | str = "all"):
        """A closable, following stream of the container's stdout and stderr.

        Every line starts with Docker's RFC 3339 timestamp (nanoseconds), which is what lets
        a reconnecting viewer resume exactly where it stopped. `close()` ends it from any
        thread.
        """
        kwargs: dict = {
            "stdout": True,
            "stderr": True,
            "stream": True,
            "follow": True,
            "timestamps": True,
            "tail": tail,
        }
        if since:
            kwargs["since"] = since
        return self._container(name).logs(**kwargs)

    def container_created(self, name: str) -> float | None:
        """Unix time the container was created (None if it does not exist)."""
        try:
            created = self.client.containers.get(name).attrs.get("Created", "")
        except NotFound:
            return None
        # RFC 3339 with nanoseconds; Python's parser takes at most microseconds.
        whole, _, fraction = created.rstrip("Z").partition(".")
        try:
            moment = datetime.fromisoformat(whole).replace(tzinfo=UTC)
        except ValueError:
            return None
        return moment.timestamp() + float(f"0.{fraction or 0}")

    def timestamped_logs(self, name: str, tail: int) -> str:
        """The last `tail` lines, each prefixed with Docker's timestamp."""
        try:
            raw = self._container(name).logs(tail=tail, timestamps=True)
        except RuntimeFailure:
            return ""
        return raw.decode(errors="replace")

    def container_stats(self, name: str) -> dict | None:
        """One reading of the container's cgroup counters, or None if it is not running."""
        try:
            container = self.client.containers.get(name)
        except NotFound:
            return None
        if container.status != "running":
            return None
        # one_shot skips the second reading Docker otherwise waits a second for.
        return container.stats(stream=False, one_shot=True)

    def container_events(self, since: float, until: float, actions: list[str]) -> list[dict]:
        """This Hearth's container events (die, oom, ...) between two Unix times."""
        filters = {
            "type": "container",
            "label": f"{LABEL_INSTANCE}={self.instance}",
            "event": actions,
        }
        stream = self.client.events(since=since, until=until, filters=filters, decode=True)
        try:
            return list(stream)
        finally:
            stream.close()

    def disk_usage(self) -> dict:
        """`docker system df`: sizes of images, containers and volumes (a slow call)."""
        return self.client.df()

    def list_images(self) -> list[dict]:
        images = []
        for image in self.client.images.list():
            images.append(
                {
                    "id": image.short_id.removeprefix("sha256:"),
                    "tags": image.tags,
                    "size": int(image.attrs.get("Size", 0)),
                    "created": image.attrs.get("Created", ""),
                }
            )
        return sorted(images, key=lambda item: -item["size"])

    def prune_images(self) -> dict:
        """Remove dangling images only: a tagged image may be the next start of an app."""
        return self.client.images.prune(filters={"dangling": True})

    # Log files of an app (its manifest's logPaths) ------------------------------------
    # A log is `path.1` (the part rotated out last) followed by `path`. `path.rot` holds how
    # many bytes were ever rotated out ("<total> <last>"), so a position in the log stays
    # valid across rotations; reader and rotation take a lock on it (flock), so a reader
    # never sees a file cut but not yet counted.

    def read_log_file(self, name: str, path: str, position: int, limit: int) -> LogFileRead:
        """Up to `limit` bytes of the log from `position` (0: the first byte ever written),
        reading the rest of `path.1` first when a rotation cut past the position."""
        script = (
            'f=$1; at=$2; lim=$3; exec 9>>"$f.rot" 2>/dev/null && flock 9; '
            's=$(stat -c %s "$f" 2>/dev/null) || s=-1; '
            'b=$(stat -c %s "$f.1" 2>/dev/null) || b=0; '
            'total=0; read -r total _ < "$f.rot" 2>/dev/null; '
            "case $total in ''|*[!0-9]*) total=0;; esac; "
            "pos=$((at - total)); start=$at; "
            '[ "$pos" -lt 0 ] && { start=$((total - b)); [ "$start" -lt "$at" ] && start=$at; }; '
            '[ "$s" -ge 0 ] && [ "$pos" -gt "$s" ] && start=-1; '
            'echo "$s $total $start"; [ "$s" -ge 0 ] && [ "$start" -ge 0 ] || exit 0; '
            'if [ "$pos" -ge 0 ]; then tail -c +$((pos + 1)) "$f" | head -c "$lim"; '
            'else { tail -c +$((start - total + b + 1)) "$f.1"; cat "$f"; } | head -c "$lim"; fi'
        )
        _, output = self._container(name).exec_run(
            ["sh", "-c", script, "sh", path, str(position), str(limit)], stderr=False
        )
        head, _, data = (output or b"").partition(b"\n")
        try:
            size, rotated, start = (int(value) for value in head.split())
        except ValueError:
            return LogFileRead(-1, 0, -1, b"")
        return LogFileRead(size, rotated, start, data if size >= 0 and start >= 0 else b"")

    def rotate_files_in(self, name: str, paths: list[str], max_bytes: int) -> str:
        """Rotate each log file in the container bigger than `max_bytes` into `path.1` (one
        backup) without losing a line its writer appends meanwhile.

        The file's first whole blocks are copied to `path.1`, then cut off the file's start
        in one step (fallocate's collapse-range, atomic against the writer's appends): what
        was written after the copy stays in the file. Where the file system cannot collapse
        (tmpfs), it is copy and truncate, which may lose lines written in between.
        """
        script = (
            'max=$1; shift; for f; do s=$(stat -c %s "$f" 2>/dev/null) || continue; '
            '[ "$s" -gt "$max" ] || continue; ( exec 9>>"$f.rot" && flock 9 || exit 1; '
            'total=0; read -r total _ < "$f.rot" 2>/dev/null; '
            "case $total in ''|*[!0-9]*) total=0;; esac; "
            's=$(stat -c %s "$f"); bs=$(stat -f -c %S "$f"); n=$((s / bs * bs)); '
            'if [ "$n" -gt 0 ] && head -c "$n" "$f" > "$f.1.part" '
            '&& fallocate --collapse-range -o 0 -l "$n" "$f" 2>/dev/null; '
            'then mv "$f.1.part" "$f.1"; '
            'else rm -f "$f.1.part"; cp "$f" "$f.1" && : > "$f" || exit 1; '
            'n=$(stat -c %s "$f.1"); fi; '
            'echo "$((total + n)) $n" > "$f.rot"; echo "$f" ); done; true'
        )
        code, output = self._container(name).exec_run(
            ["sh", "-c", script, "sh", str(max_bytes), *paths]
        )
        return (output or b"").decode(errors="replace")

    def open_terminal(self, name: str, command: list[str]):
        """Start `command` in the container with a TTY; returns (exec id, raw socket)."""
        container = self._container(name)
        exec_id = self.client.api.exec_create(
            container.id, command, stdin=True, tty=True, environment={"TERM": "xterm"}
        )["Id"]
        sock = self.client.api.exec_start(exec_id, tty=True, socket=True)
        # docker-py wraps the socket for reads; the raw one supports send/recv both ways.
        return exec_id, getattr(sock, "_sock", sock)

    def resize_terminal(self, exec_id: str, rows: int, cols: int) -> None:
        with contextlib.suppress(APIError):
            self.client.api.exec_resize(exec_id, height=rows, width=cols)

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

    def app_networks(self) -> dict[str, str]:
        """The app networks of this Hearth: network name -> the app id it was made for."""
        filters = {"label": [f"{LABEL_INSTANCE}={self.instance}", f"{LABEL_ROLE}=network"]}
        return {
            n.name: n.attrs["Labels"].get(LABEL_APP, "")
            for n in self.client.networks.list(filters=filters)
        }

    def app_containers(self) -> dict[str, str]:
        """The app containers of this Hearth (addon ones included): name -> app id label."""
        filters = self._filters(None)
        return {
            c.name: c.labels.get(LABEL_APP, "")
            for c in self.client.containers.list(all=True, filters=filters)
        }

    def remove_network(self, name: str) -> bool:
        """Remove a network; False when it is gone already or still has containers on it."""
        try:
            self.client.networks.get(name).remove()
        except (NotFound, APIError):
            return False
        return True

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

    return DockerRuntime(
        settings.HEARTH_DOCKER_URL, settings.HEARTH_INSTANCE, settings.HEARTH_APP_SUBNETS
    )
