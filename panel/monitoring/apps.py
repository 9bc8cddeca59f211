from __future__ import annotations

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "panel.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring: logs, health, metrics and notifications"

    def ready(self) -> None:
        from panel.monitoring import signals

        signals.connect_store_signals()
