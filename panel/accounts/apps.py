from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "panel.accounts"
    label = "accounts"
    verbose_name = "Users, roles and groups"

    def ready(self) -> None:
        from panel.accounts import signals  # noqa: F401  (login events into the event log)
