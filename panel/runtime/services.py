"""Addon service containers: the shared database servers and the per-app helpers (redis).

Like app containers, they are named with the instance prefix and labelled, so the reconcile and
the test suite find them by label. Unlike app containers they keep their data in named volumes
that outlive the container, and they reach apps by joining each app's own network, never by a
published port: an app sees only the services it was given.
"""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from docker.errors import APIError, NotFound

from panel.runtime.base_image import ensure_base_image
from panel.runtime.containers import RuntimeFailure, get_runtime
from panel.runtime.images import build_image, push_image
from panel.runtime.spec import LABEL_APP, LABEL_INSTANCE, LABEL_ROLE, LOG_CONFIG

ROLE_SERVICE = "addon-service"
SERVICE_CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID")
LABEL_SERVICE = "io.hearth.service"
# Docker health checks: quick while starting, then every 10 s.
HEALTH_INTERVAL_NS = 10 * 1_000_000_000
HEALTH_START_PERIOD_NS = 60 * 1_000_000_000


@dataclass(frozen=True)
class ServiceSpec:
    """A long-lived addon container. `volumes` maps volume names to mount paths."""

    name: str
    image: str
    network: str
    labels: dict[str, str]
    health_command: str
    volumes: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    memory_limit: int | None = None

    @property
    def fingerprint(self) -> str:
        """Changes whenever the container must be re-created (image or environment)."""
        text = "\n".join([self.image, *sorted(f"{k}={v}" for k, v in self.env.items())])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def service_labels(instance: str, service: str, app_hex_id: str | None = None) -> dict[str, str]:
    labels = {LABEL_INSTANCE: instance, LABEL_ROLE: ROLE_SERVICE, LABEL_SERVICE: service}
    if app_hex_id is not None:
        # Per-app services carry the app label, so removing the app removes them too.
        labels[LABEL_APP] = app_hex_id
    return labels


# Images -----------------------------------------------------------------------------------
def _context_hash(context_dir: Path, base: str) -> str:
    digest = hashlib.sha256(base.encode())
    for path in sorted(p for p in context_dir.rglob("*") if p.is_file()):
        if path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
            continue
        digest.update(str(path.relative_to(context_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_service_image(registry: str, kind: str, context_dir: Path) -> str:
    """Build the addon's image FROM the base image unless this recipe is already built.

    The tag is a hash of the build folder and the base image, so editing the Dockerfile or
    rebuilding the base image gives a new tag and the service container is re-created.
    """
    client = get_runtime().client
    base, _ = ensure_base_image(client, registry)
    reference = f"{registry}/hearth/addons/{kind}:{_context_hash(context_dir, base)}"
    try:
        client.images.get(reference)
        return reference
    except NotFound:
        pass
    with contextlib.suppress(APIError, NotFound):
        client.images.pull(reference)
        return reference
    build_image(str(context_dir), reference, {"BASE_IMAGE": base})
    push_image(reference)
    return reference


# Networks ---------------------------------------------------------------------------------
def ensure_service_network(instance: str) -> str:
    """The network the shared services sit on, through which the panel administers them."""
    client = get_runtime().client
    name = f"{instance}-addons"
    try:
        client.networks.get(name)
    except NotFound:
        client.networks.create(
            name,
            driver="bridge",
            labels={LABEL_INSTANCE: instance, LABEL_ROLE: "addon-network"},
        )
    return name


def connect_to_network(container: str, network: str, aliases: tuple[str, ...] = ()) -> None:
    """Join `container` to `network` under `aliases` (idempotent)."""
    client = get_runtime().client
    try:
        attached = client.containers.get(container).attrs["NetworkSettings"]["Networks"]
        if network in attached:
            return
        client.networks.get(network).connect(container, aliases=list(aliases))
    except NotFound as exc:
        raise RuntimeFailure(
            f"cannot connect {container} to {network}: {exc.explanation}"
        ) from None
    except APIError as exc:
        if "already exists" in str(exc.explanation):
            return
        raise RuntimeFailure(
            f"cannot connect {container} to {network}: {exc.explanation}"
        ) from None


def disconnect_from_network(container: str, network: str) -> None:
    """Leave `network`; nothing to do when either is already gone."""
    client = get_runtime().client
    try:
        client.networks.get(network).disconnect(container, force=True)
    except NotFound:
        return
    except APIError as exc:
        # Docker answers 500 "is not connected" rather than 404 for a container that left.
        if "not connected" not in str(exc.explanation):
            raise RuntimeFailure(
                f"cannot disconnect {container} from {network}: {exc.explanation}"
            ) from None


def network_gateway(network: str) -> str:
    """The host's address on `network`: where host services (the mail relay) are reached."""
    config = get_runtime().client.networks.get(network).attrs["IPAM"]["Config"]
    for entry in config:
        if entry.get("Gateway"):
            return entry["Gateway"]
    raise RuntimeFailure(f"network {network} has no gateway address")


# Containers -------------------------------------------------------------------------------
def ensure_service_container(spec: ServiceSpec) -> bool:
    """Create and start the container unless an identical one runs. Returns True if created.

    A container from an older image or environment is replaced; its volumes stay, so the data
    survives the re-creation.
    """
    client = get_runtime().client
    try:
        container = client.containers.get(spec.name)
    except NotFound:
        container = None
    if container is not None:
        if container.labels.get("io.hearth.fingerprint") == spec.fingerprint:
            if container.status != "running":
                container.start()
            return False
        container.remove(force=True)
    for volume in spec.volumes:
        try:
            client.volumes.get(volume)
        except NotFound:
            client.volumes.create(volume, labels=spec.labels)
    try:
        container = client.containers.create(
            image=spec.image,
            name=spec.name,
            hostname=spec.name,
            environment=spec.env,
            labels={**spec.labels, "io.hearth.fingerprint": spec.fingerprint},
            volumes={volume: {"bind": path, "mode": "rw"} for volume, path in spec.volumes.items()},
            network=spec.network,
            restart_policy={"Name": "unless-stopped"},
            healthcheck={
                "test": ["CMD-SHELL", spec.health_command],
                "interval": HEALTH_INTERVAL_NS,
                "timeout": 5 * 1_000_000_000,
                "retries": 3,
                "start_period": HEALTH_START_PERIOD_NS,
            },
            mem_limit=spec.memory_limit,
            # What the start scripts need to set up their data folder and drop to the
            # service's own user; nothing else, so a compromised service gains little.
            cap_drop=["ALL"],
            cap_add=list(SERVICE_CAPABILITIES),
            security_opt=["no-new-privileges"],
            log_config=LOG_CONFIG,
            detach=True,
        )
        if spec.aliases:
            # Aliases can only be given when (re)connecting: swap the default endpoint for one
            # that carries them.
            network = client.networks.get(spec.network)
            network.disconnect(container)
            network.connect(container, aliases=list(spec.aliases))
        container.start()
    except APIError as exc:
        with contextlib.suppress(APIError, NotFound):
            client.containers.get(spec.name).remove(force=True)
        raise RuntimeFailure(f"could not start {spec.name}: {exc.explanation}") from None
    return True


def wait_until_ready(name: str, probe: list[str], timeout: float = 90) -> None:
    """Wait until `probe` succeeds inside the container (quicker than Docker's health interval).

    Docker's own health check keeps watching afterwards and the restart policy brings a dead
    service back; this only decides when the panel can start using it.
    """
    runtime = get_runtime()
    deadline = time.monotonic() + timeout
    detail = ""
    while time.monotonic() < deadline:
        status = runtime.container_status(name)
        if not status.exists:
            raise RuntimeFailure(f"service {name} does not exist")
        if status.running:
            code, detail = runtime.exec_in_container(name, probe)
            if code == 0:
                return
        time.sleep(0.25)
    logs = runtime.container_logs(name, tail=20).strip()
    raise RuntimeFailure(f"service {name} not ready after {timeout:.0f}s: {detail}\n{logs}")


def health_status(name: str) -> str:
    """Docker's health verdict: starting, healthy, unhealthy, or missing."""
    try:
        container = get_runtime().client.containers.get(name)
    except NotFound:
        return "missing"
    return container.attrs["State"].get("Health", {}).get("Status", "none")


def container_address_on(name: str, network: str) -> str:
    try:
        container = get_runtime().client.containers.get(name)
    except NotFound:
        raise RuntimeFailure(f"service {name} does not exist; is it started?") from None
    address = container.attrs["NetworkSettings"]["Networks"].get(network, {}).get("IPAddress")
    if not address:
        raise RuntimeFailure(f"service {name} has no address on {network}; is it running?")
    return address


def remove_service(name: str, volumes: tuple[str, ...] = ()) -> None:
    """Remove the container and the given volumes; missing ones are fine."""
    client = get_runtime().client
    with contextlib.suppress(NotFound):
        client.containers.get(name).remove(force=True, v=True)
    for volume in volumes:
        with contextlib.suppress(NotFound):
            client.volumes.get(volume).remove(force=True)


def memory_usage(names: list[str]) -> dict[str, int]:
    """Resident memory (bytes, page cache excluded) of each running container, like docker stats."""
    client = get_runtime().client
    usage = {}
    for name in names:
        stats = client.containers.get(name).stats(stream=False)
        memory = stats.get("memory_stats", {})
        cache = memory.get("stats", {}).get("cache", 0) or memory.get("stats", {}).get(
            "inactive_file", 0
        )
        usage[name] = int(memory.get("usage", 0)) - int(cache)
    return usage


# Streams in and out of containers ---------------------------------------------------------
def _docker_exec(
    container: str, command: list[str], *, user: str | None, stdin=None, stdout=None
) -> None:
    # The CLI streams stdin and stdout to files without holding a dump in memory; the SDK's
    # exec only returns output as one blob and cannot feed stdin simply.
    args = ["docker", "exec", *(["-i"] if stdin is not None else [])]
    if user:
        args += ["-u", user]
    result = subprocess.run(
        [*args, container, *command],
        stdin=stdin if stdin is not None else subprocess.DEVNULL,
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        check=False,
    )
    if result.returncode != 0:
        stderr = result.stderr.decode(errors="replace").strip()[-2000:]
        raise RuntimeFailure(f"{command[0]} in {container} failed ({result.returncode}): {stderr}")


def exec_to_file(container: str, command: list[str], target: Path, user: str | None = None) -> None:
    """Run `command` in the container and write its standard output to `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        _docker_exec(container, command, user=user, stdout=handle)


def exec_from_file(
    container: str, command: list[str], source: Path, user: str | None = None
) -> None:
    """Run `command` in the container with `source` as its standard input."""
    with source.open("rb") as handle:
        _docker_exec(container, command, user=user, stdin=handle)


def copy_from_container(container: str, path: str, target: Path) -> None:
    """Copy one file out of a (running or stopped) container."""
    target.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["docker", "cp", f"{container}:{path}", str(target)], capture_output=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeFailure(f"copying {path} out of {container} failed: {result.stderr.decode()}")


def copy_into_container(container: str, source: Path, path: str) -> None:
    """Copy one file into a (running or stopped) container, keeping the target's ownership."""
    result = subprocess.run(
        ["docker", "cp", str(source), f"{container}:{path}"], capture_output=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeFailure(f"copying into {container}:{path} failed: {result.stderr.decode()}")


def archive_volume(volume: str, image: str, target: Path) -> None:
    """Write a tar of the volume's files, with numeric owners and modes, to `target`.

    A throwaway container mounts the volume read-only, so this works whether the app runs or not.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        _run_helper(
            volume,
            image,
            "ro",
            ["tar", "-C", "/volume", "--numeric-owner", "-cf", "-", "."],
            stdout=handle,
        )


def restore_volume(volume: str, image: str, source: Path) -> None:
    """Replace the volume's files with the tar at `source`, owners and modes included."""
    script = "find /volume -mindepth 1 -delete && tar -C /volume --numeric-owner -xpf -"
    with source.open("rb") as handle:
        _run_helper(volume, image, "rw", ["sh", "-c", script], stdin=handle)


def _run_helper(volume: str, image: str, mode: str, command: list[str], stdin=None, stdout=None):
    result = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "-i",
            "--network",
            "none",
            "--user",
            "0",
            "-v",
            f"{volume}:/volume:{mode}",
            image,
            *command,
        ],
        stdin=stdin if stdin is not None else subprocess.DEVNULL,
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        check=False,
    )
    if result.returncode != 0:
        stderr = result.stderr.decode(errors="replace").strip()[-2000:]
        raise RuntimeFailure(f"{command[0]} on volume {volume} failed: {stderr}")


def write_to_container_log(container: str, text: str) -> None:
    """Append `text` to the container's log (what `docker logs` shows), as if it printed it.

    The log is PID 1's stdout. Reopening it through /proc works for PID 1's own user (the
    image's user, which `docker exec` runs as by default) and, when PID 1 runs as root, for
    root; so try the image's user first, then root.
    """
    errors = []
    for user in ([], ["-u", "0"]):
        result = subprocess.run(
            ["docker", "exec", "-i", *user, container, "sh", "-c", "cat > /proc/1/fd/1"],
            input=text.encode(),
            capture_output=True,
            check=False,
        )
        if result.returncode == 0:
            return
        errors.append(result.stderr.decode(errors="replace").strip())
    raise RuntimeFailure(f"writing to the log of {container} failed: {'; '.join(errors)}")


def can_write_container_log(container: str) -> bool:
    """Whether the image's user may open the container's log stream (PID 1's stdout)."""
    code, _ = get_runtime().exec_in_container(container, ["sh", "-c", ": >/proc/1/fd/1"])
    return code == 0


def exec_detached(container: str, command: list[str]) -> None:
    """Start `command` in the container as its user and return at once."""
    try:
        get_runtime().client.containers.get(container).exec_run(command, detach=True)
    except NotFound:
        raise RuntimeFailure(f"container {container} does not exist") from None
