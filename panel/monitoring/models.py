from __future__ import annotations

from django.conf import settings
from django.db import models

from panel.core.models import AppInstance


class Notification(models.Model):
    """One message to one admin: shown in the notification centre until read."""

    class Level(models.TextChoices):
        INFO = "info"
        WARNING = "warning"
        CRITICAL = "critical"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    app = models.ForeignKey(
        AppInstance, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=64)
    level = models.CharField(max_length=16, choices=Level.choices, default=Level.INFO)
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.kind}: {self.title}"


class HealthRecord(models.Model):
    """What the last health sweep saw of one app; the app row carries only the verdict."""

    app = models.OneToOneField(
        AppInstance, on_delete=models.CASCADE, primary_key=True, related_name="health_record"
    )
    status = models.CharField(max_length=16, blank=True)
    detail = models.TextField(blank=True)
    restart_count = models.IntegerField(default=0)
    # Docker's restart counter as it was one and two windows ago: restarts since the older
    # reading are those of the last 10 to 20 minutes, which is what a loop is judged on.
    base_restart_count = models.IntegerField(default=0)
    mid_restart_count = models.IntegerField(default=0)
    rolled_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.app_id}: {self.status}"


class MetricSlot(models.Model):
    """One slot of a round-robin series: (series, step) owns a fixed ring of slots.

    Counters (CPU time, network bytes) are stored as Docker/the kernel report them,
    cumulative; rates are the difference between neighbouring slots, so a slot stands for
    its whole interval without any averaging on write.
    """

    series = models.CharField(max_length=80)
    step = models.PositiveIntegerField(help_text="seconds per slot")
    slot = models.PositiveIntegerField()
    ts = models.BigIntegerField(help_text="Unix time of the sample in this slot")
    cpu_ns = models.BigIntegerField(default=0)
    mem_bytes = models.BigIntegerField(default=0)
    mem_limit = models.BigIntegerField(default=0)
    net_rx = models.BigIntegerField(default=0)
    net_tx = models.BigIntegerField(default=0)
    disk_bytes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "step", "slot"], name="unique_metric_slot")
        ]

    def __str__(self) -> str:
        return f"{self.series}@{self.step}s[{self.slot}]"
