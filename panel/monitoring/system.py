"""What the System page shows: disk use per app, Docker images, the platform's services."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import requests
from django.conf import settings

from panel.core.models import AppInstance
from panel.proxy.nginx import get_nginx
from panel.runtime.containers import get_runtime
from panel.runtime.spec import LABEL_APP, LABEL_INSTANCE, app_resource_names


@dataclass(frozen=True)
class ServiceState:
    name: str
    up: bool
    detail: str


def disk_per_app(usage: dict) -> list[dict]:
    """Each app's data volume and container layer size, biggest first."""
    volumes = {
        v["Name"]: max(0, int((v.get("UsageData") or {}).get("Size", 0)))
        for v in usage.get("Volumes") or []
    }
    containers = {
        name.lstrip("/"): int(c.get("SizeRw") or 0)
        for c in usage.get("Containers") or []
        for name in c.get("Names", [])
    }
    rows = []
    for app in AppInstance.objects.select_related("domain"):
        names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
        data = volumes.get(names.volume, 0)
        layer = containers.get(names.container, 0)
        rows.append({"app": app, "data": data, "container": layer, "total": data + layer})
    return sorted(rows, key=lambda row: -row["total"])


def addon_containers(usage: dict) -> list[dict]:
    """This Hearth's shared addon service containers (they carry no app label)."""
    rows = []
    for c in usage.get("Containers") or []:
        labels = c.get("Labels") or {}
        if labels.get(LABEL_INSTANCE) == settings.HEARTH_INSTANCE and LABEL_APP not in labels:
            rows.append(
                {
                    "name": c["Names"][0].lstrip("/"),
                    "state": c.get("State", ""),
                    "size": int(c.get("SizeRw") or 0),
                }
            )
    return rows


def addon_volumes(usage: dict) -> list[dict]:
    """Data volumes of this Hearth's addon services (databases, mail, ...), biggest first."""
    rows = []
    for volume in usage.get("Volumes") or []:
        labels = volume.get("Labels") or {}
        if labels.get(LABEL_INSTANCE) == settings.HEARTH_INSTANCE and LABEL_APP not in labels:
            size = max(0, int((volume.get("UsageData") or {}).get("Size", 0)))
            rows.append({"name": volume["Name"], "size": size})
    return sorted(rows, key=lambda row: -row["size"])


def service_states() -> list[ServiceState]:
    states = []
    try:
        version = get_runtime().client.version().get("Version", "")
        states.append(ServiceState("dockerd", True, f"Docker {version}"))
    except Exception as exc:  # noqa: BLE001
        states.append(ServiceState("dockerd", False, str(exc)))
    states.append(_redis_state())
    nginx = get_nginx()
    states.append(
        ServiceState("nginx", nginx.is_running(), f"listening on {settings.HEARTH_HTTP_LISTEN}")
    )
    try:
        answer = requests.get(f"http://{settings.HEARTH_REGISTRY}/v2/", timeout=3)
        states.append(ServiceState("registry", answer.ok, f"HTTP {answer.status_code}"))
    except requests.RequestException as exc:
        states.append(ServiceState("registry", False, str(exc)))
    return states


def _redis_state() -> ServiceState:
    from urllib.parse import urlparse

    url = urlparse(settings.REDIS_URL)
    try:
        with socket.create_connection((url.hostname, url.port or 6379), timeout=3) as conn:
            conn.sendall(b"PING\r\n")
            answer = conn.recv(64)
        return ServiceState("redis", answer.startswith(b"+PONG"), answer.decode().strip())
    except OSError as exc:
        return ServiceState("redis", False, str(exc))


def system_overview() -> dict:
    runtime = get_runtime()
    usage = runtime.disk_usage()
    return {
        "apps": disk_per_app(usage),
        "addons": addon_containers(usage),
        "addon_volumes": addon_volumes(usage),
        "images": runtime.list_images(),
        "services": service_states(),
        "images_total": sum(int(i.get("Size", 0)) for i in usage.get("Images") or []),
    }


class UnknownService(Exception):
    pass


def restart_service(name: str, actor=None) -> str:
    """Restart nginx (start it, or reload its config) or one of this Hearth's addon service
    containers, and log it; returns what was done. dockerd, redis and the registry carry the
    panel itself, so they are restarted on the host, not from a page served through them."""
    from panel.core.events import record_event
    from panel.core.models import Event

    if name == "nginx":
        get_nginx().ensure_running()
        done = "nginx started or reloaded"
    else:
        addons = {row["name"] for row in addon_containers(get_runtime().disk_usage())}
        if name not in addons:
            raise UnknownService(name)
        get_runtime().restart_container(name)
        done = f"{name} restarted"
    record_event("service_restart", actor=actor, outcome=Event.Outcome.INFO, message=done)
    return done
