"""redis: a redis-server container of the app's own, on the app's network only."""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings

from addons.base import Addon
from addons.models import AddonInstance
from addons.registry import register
from addons.shared_service import ADDONS_DIR
from panel.core.models import AppInstance
from panel.runtime import services as runtime_services
from panel.runtime.containers import get_runtime
from panel.runtime.spec import app_resource_names

PORT = 6379
HOSTNAME = "redis"
DATA_PATH = "/var/lib/redis"
DUMP_FILE = "dump.rdb"
MEMORY_LIMIT = 256 * 1024 * 1024
# redis-cli exits 0 on error replies too (LOADING, NOAUTH): look for the PONG.
READY_PROBE = ["sh", "-c", "redis-cli ping | grep -q PONG"]


def container_name(app: AppInstance) -> str:
    return f"{app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container}-redis"


def volume_name(app: AppInstance) -> str:
    return f"{container_name(app)}-data"


def redis_image() -> str:
    return runtime_services.ensure_service_image(
        settings.HEARTH_REGISTRY, "redis", ADDONS_DIR / "redis"
    )


@register
class RedisAddon(Addon):
    name = "redis"
    description = "A Redis server of the app's own, with a password, its data kept and backed up."
    variables = ("REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD")
    options = {"noPassword": "no password is set (REDIS_PASSWORD is empty)"}

    def start_service(self) -> None:
        # No shared server, but building the image at platform start keeps installs quick.
        redis_image()

    def provision(self, app: AppInstance, instance: AddonInstance) -> None:
        instance.ensure_credentials(
            {"password": "" if instance.options.get("noPassword") else secrets.token_hex(24)}
        )
        password = instance.credentials["password"]
        runtime_services.ensure_service_container(
            runtime_services.ServiceSpec(
                name=container_name(app),
                image=redis_image(),
                network=app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).network,
                labels=runtime_services.service_labels(
                    settings.HEARTH_INSTANCE, "redis", app.id.hex
                ),
                health_command="redis-cli ping | grep -q PONG",
                volumes={volume_name(app): DATA_PATH},
                # redis-cli reads REDISCLI_AUTH, so checks and backups need no password argument.
                env={"REDISCLI_AUTH": password} if password else {},
                aliases=(HOSTNAME,),
                memory_limit=MEMORY_LIMIT,
            )
        )

    def env(self, app: AppInstance, instance: AddonInstance) -> dict[str, str]:
        password = instance.credentials["password"]
        auth = f"default:{password}@" if password else ""
        return {
            "REDIS_URL": f"redis://{auth}{HOSTNAME}:{PORT}",
            "REDIS_HOST": HOSTNAME,
            "REDIS_PORT": str(PORT),
            "REDIS_PASSWORD": password,
        }

    def backup(self, app: AppInstance, instance: AddonInstance, staging: Path) -> None:
        name = container_name(app)
        runtime_services.wait_until_ready(name, READY_PROBE)
        runtime_services.exec_to_file(name, ["redis-cli", "SAVE"], staging / "save.log")
        (staging / "save.log").unlink()
        runtime_services.copy_from_container(name, f"{DATA_PATH}/{DUMP_FILE}", staging / DUMP_FILE)

    def restore(self, app: AppInstance, instance: AddonInstance, staging: Path) -> None:
        self.provision(app, instance)
        name = container_name(app)
        runtime = get_runtime()
        # Stopped first: redis writes its dataset on shutdown and would overwrite the restored
        # file; at start it loads the file back.
        runtime.stop_container(name)
        runtime_services.copy_into_container(name, staging / DUMP_FILE, f"{DATA_PATH}/{DUMP_FILE}")
        runtime.start_container(name)
        runtime_services.wait_until_ready(name, READY_PROBE)

    def teardown(self, app: AppInstance, instance: AddonInstance) -> None:
        runtime_services.remove_service(container_name(app), volumes=(volume_name(app),))
