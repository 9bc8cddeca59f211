from __future__ import annotations

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "panel.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring: logs, health, metrics and notifications"
