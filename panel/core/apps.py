from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "panel.core"
    label = "core"
    verbose_name = "Hearth core"

    def ready(self) -> None:
        from panel.core import signals  # noqa: F401  (connects the worker start-up recovery)
