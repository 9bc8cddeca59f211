"""What an app container looks like, derived from the manifest. No Docker calls, no Django."""

from __future__ import annotations

from dataclasses import dataclass, field

DATA_PATH = "/app/data"
LABEL_INSTANCE = "io.hearth.instance"
LABEL_APP = "io.hearth.app"
LABEL_ROLE = "io.hearth.role"

# Small tmpfs sizes: they count against the host's memory, not the app's disk.
TMPFS_OPTIONS = "rw,nosuid,nodev,size=64m,mode=1777"
# Log files are capped per container so a chatty app cannot fill the disk.
LOG_CONFIG = {"type": "json-file", "config": {"max-size": "10m", "max-file": "3"}}


@dataclass(frozen=True)
class AppResourceNames:
    container: str
    network: str
    volume: str
    bridge: str


def app_resource_names(instance: str, app_hex_id: str) -> AppResourceNames:
    short = app_hex_id[:12]
    return AppResourceNames(
        container=f"{instance}-app-{short}",
        network=f"{instance}-app-{short}",
        volume=f"{instance}-app-{short}-data",
        # Linux caps interface names at 15 characters; the `hb` prefix is what the host
        # firewall matches (hb+) to keep app containers away from host services.
        bridge=f"hb{short}",
    )


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    hostname: str
    network: str
    volume: str
    http_port: int
    memory_limit: int
    env: dict[str, str]
    labels: dict[str, str]
    cap_add: tuple[str, ...] = ()
    tmpfs: dict[str, str] = field(default_factory=dict)

    def docker_create_kwargs(self) -> dict:
        """Keyword arguments for docker-py's `containers.create`."""
        return {
            "image": self.image,
            "name": self.name,
            "hostname": self.hostname,
            "environment": self.env,
            "labels": self.labels,
            "network": self.network,
            "volumes": {self.volume: {"bind": DATA_PATH, "mode": "rw"}},
            "read_only": True,
            "tmpfs": self.tmpfs,
            "mem_limit": self.memory_limit,
            # Equal to the memory limit: no swap on top, an app that outgrows it is OOM-killed
            # and shows as such instead of thrashing the host.
            "memswap_limit": self.memory_limit,
            "cap_drop": ["ALL"],
            "cap_add": [cap.upper() for cap in self.cap_add],
            "security_opt": ["no-new-privileges"],
            "restart_policy": {"Name": "unless-stopped"},
            "log_config": LOG_CONFIG,
            "detach": True,
        }


def platform_env(app_origin: str, app_domain: str, dashboard_origin: str) -> dict[str, str]:
    """The variables every app gets, before addon credentials are added."""
    return {
        "APP_ORIGIN": app_origin,
        "APP_DOMAIN": app_domain,
        "API_ORIGIN": dashboard_origin,
        "WEBADMIN_ORIGIN": dashboard_origin,
    }


def contract_env(values: dict[str, str]) -> dict[str, str]:
    """Each value under HEARTH_ and, so Cloudron packages run unchanged, under CLOUDRON_."""
    env = {"HEARTH": "1", "CLOUDRON": "1"}
    for name, value in values.items():
        env[f"HEARTH_{name}"] = value
        env[f"CLOUDRON_{name}"] = value
    return env


def build_container_spec(
    *,
    instance: str,
    app_hex_id: str,
    image: str,
    fqdn: str,
    http_port: int,
    memory_limit: int,
    capabilities: list[str] | tuple[str, ...] = (),
    runtime_dirs: list[str] | tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> ContainerSpec:
    names = app_resource_names(instance, app_hex_id)
    tmpfs = {"/tmp": TMPFS_OPTIONS, "/run": TMPFS_OPTIONS}  # noqa: S108 - container paths
    tmpfs.update({path: TMPFS_OPTIONS for path in runtime_dirs})
    return ContainerSpec(
        name=names.container,
        image=image,
        hostname=fqdn.split(".")[0][:63],
        network=names.network,
        volume=names.volume,
        http_port=http_port,
        memory_limit=memory_limit,
        env=dict(env or {}),
        labels={LABEL_INSTANCE: instance, LABEL_APP: app_hex_id, LABEL_ROLE: "app"},
        cap_add=tuple(capabilities),
        tmpfs=tmpfs,
    )
