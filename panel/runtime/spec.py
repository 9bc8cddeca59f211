"""What an app container looks like, derived from the manifest. No Docker calls, no Django."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field

DATA_PATH = "/app/data"
# The name app containers use for the dashboard (OIDC back channel): it resolves to their
# network's gateway, unlike my.<domain>, which some clients (curl) pin to loopback for
# *.localhost and which may not reach back to this host through public DNS.
INTERNAL_DASHBOARD_HOST = "dashboard.hearth.internal"
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


# Each app network is a /27 of Hearth's pool: .1 is the gateway (the host), .2 the app, and
# addon containers joining the network get addresses from the upper half only, so the app's
# fixed address is never taken by a service that connected first.
APP_SUBNET_PREFIX = 27


def app_container_address(subnet: str | ipaddress.IPv4Network) -> str:
    return str(ipaddress.ip_network(subnet)[2])


def side_by_side_address(subnet: str | ipaddress.IPv4Network, current: str) -> str:
    """Where an app's next container goes while its current one still serves: .2 and .3
    take turns, both below the addons' dynamic upper half."""
    network = ipaddress.ip_network(subnet)
    first, second = str(network[2]), str(network[3])
    return second if current == first else first


def app_slot_addresses(address: str) -> tuple[str, str]:
    """Both addresses the app's own containers take in its network, given either (or any
    address of that network): whoever connects from them is the app."""
    network = ipaddress.ip_network(f"{address}/{APP_SUBNET_PREFIX}", strict=False)
    return str(network[2]), str(network[3])


def dynamic_range(subnet: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    return list(subnet.subnets(prefixlen_diff=1))[1]


def free_app_subnets(
    pool: ipaddress.IPv4Network, used: list[ipaddress.IPv4Network]
) -> Iterator[ipaddress.IPv4Network]:
    """Subnets of the pool that overlap none in use, in order."""
    for subnet in pool.subnets(new_prefix=APP_SUBNET_PREFIX):
        if not any(subnet.overlaps(other) for other in used):
            yield subnet


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
    ipv4_address: str = ""
    extra_hosts: dict[str, str] = field(default_factory=dict)
    # Host ports for the manifest's tcpPorts/udpPorts: {"<container port>/<tcp|udp>": host port}.
    ports: dict[str, int] = field(default_factory=dict)

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
            "extra_hosts": dict(self.extra_hosts),
            "ports": dict(self.ports),
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


@dataclass(frozen=True)
class PublishedPort:
    """One tcpPorts/udpPorts entry with the host port the owner chose for it."""

    name: str  # the environment variable, which the app reads the host port from
    protocol: str  # "tcp" or "udp"
    host_port: int
    container_port: int
    count: int = 1

    @property
    def host_range(self) -> range:
        return range(self.host_port, self.host_port + self.count)


def published_ports(manifest: dict, host_ports: dict[str, int]) -> list[PublishedPort]:
    """The ports an app publishes: every declared port the owner gave a host port.

    As in Cloudron's contract, the app listens on `containerPort` when the manifest names one
    and on the host port itself otherwise; `portCount` publishes that many consecutive ports.
    """
    published = []
    for protocol, key in (("tcp", "tcpPorts"), ("udp", "udpPorts")):
        for name, declared in (manifest.get(key) or {}).items():
            if name not in host_ports:
                continue
            host_port = int(host_ports[name])
            published.append(
                PublishedPort(
                    name=name,
                    protocol=protocol,
                    host_port=host_port,
                    container_port=int(declared.get("containerPort") or host_port),
                    count=int(declared.get("portCount") or 1),
                )
            )
    return published


def port_bindings(ports: list[PublishedPort]) -> dict[str, int]:
    """docker-py's `ports` argument: each container port/protocol to its host port."""
    return {
        f"{port.container_port + offset}/{port.protocol}": port.host_port + offset
        for port in ports
        for offset in range(port.count)
    }


def port_env(ports: list[PublishedPort]) -> dict[str, str]:
    """The manifest's variable names set to the host ports (what clients connect to)."""
    return {port.name: str(port.host_port) for port in ports}


def merge_env(overrides: dict[str, str], hearth_env: dict[str, str]) -> dict[str, str]:
    """The owner's variables beside Hearth's; Hearth's win a clash, so an override can never
    break an addon's credentials or the app's origin."""
    return {**{str(k): str(v) for k, v in (overrides or {}).items()}, **hearth_env}


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
    ipv4_address: str = "",
    dashboard_host: str = "",
    ports: list[PublishedPort] | tuple[PublishedPort, ...] = (),
    env_overrides: dict[str, str] | None = None,
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
        env=merge_env(env_overrides or {}, {**(env or {}), **port_env(list(ports))}),
        labels={LABEL_INSTANCE: instance, LABEL_APP: app_hex_id, LABEL_ROLE: "app"},
        cap_add=tuple(capabilities),
        tmpfs=tmpfs,
        ipv4_address=ipv4_address,
        # The dashboard (OIDC, API) is this very host: reach it through the app network's
        # gateway instead of public DNS, which would hairpin or not resolve (*.localhost).
        extra_hosts=(
            {
                # The gateway, not "the address below": during a rolling update the new
                # container sits at .3 beside the old one at .2.
                name: str(
                    ipaddress.ip_network(f"{ipv4_address}/{APP_SUBNET_PREFIX}", strict=False)[1]
                )
                for name in (dashboard_host, INTERNAL_DASHBOARD_HOST)
            }
            if dashboard_host and ipv4_address
            else {}
        ),
        ports=port_bindings(list(ports)),
    )
