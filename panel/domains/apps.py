from django.apps import AppConfig


class DomainsConfig(AppConfig):
    name = "panel.domains"
    label = "domains"

    def ready(self) -> None:
        from panel.domains import signals  # noqa: F401 - connects the receivers
