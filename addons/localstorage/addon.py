"""localstorage: the app's writable /app/data volume, backed up with its owners and modes."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from addons.base import Addon
from addons.models import AddonInstance
from addons.registry import register
from panel.core.models import AppInstance
from panel.runtime import services as runtime_services
from panel.runtime.base_image import ensure_base_image
from panel.runtime.containers import get_runtime
from panel.runtime.spec import DATA_PATH, app_resource_names

ARCHIVE_FILE = "data.tar"


def _volume(app: AppInstance) -> str:
    return app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).volume


def _helper_image() -> str:
    reference, _ = ensure_base_image(get_runtime().client, settings.HEARTH_REGISTRY)
    return reference


@register
class LocalStorageAddon(Addon):
    name = "localstorage"
    description = f"A writable {DATA_PATH} that keeps its files across updates and is backed up."
    options = {
        "ftp": "accepted for Cloudron manifests; Hearth gives no FTP access yet",
        "sqlite": "accepted for Cloudron manifests; SQLite files are backed up as files",
    }

    def provision(self, app: AppInstance, instance: AddonInstance) -> None:
        names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
        get_runtime().ensure_volume(names, app.id.hex)

    def backup(self, app: AppInstance, instance: AddonInstance, staging: Path) -> None:
        runtime_services.archive_volume(_volume(app), _helper_image(), staging / ARCHIVE_FILE)

    def restore(self, app: AppInstance, instance: AddonInstance, staging: Path) -> None:
        runtime_services.restore_volume(_volume(app), _helper_image(), staging / ARCHIVE_FILE)

    def teardown(self, app: AppInstance, instance: AddonInstance) -> None:
        # The volume is mounted by the app's container until that is removed, so the runtime
        # removes it together with the container (remove_app) rather than here.
        return None
