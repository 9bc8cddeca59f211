from __future__ import annotations

from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "panel.backups"
    label = "backups"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Each storage sub-package registers itself on import.
        from panel.backups import storages  # noqa: F401
