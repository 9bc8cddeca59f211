from __future__ import annotations

from django.conf import settings
from django.db import models

from panel.backups.fields import EncryptedTextField
from panel.backups.restic import Repository
from panel.backups.schedule import (
    DEFAULT_BACKUP_SCHEDULE,
    DEFAULT_CHECK_SCHEDULE,
    RetentionPolicy,
)
from panel.backups.storages import get_storage
from panel.backups.storages.base import BackupStorage


class BackupTarget(models.Model):
    """Where backups go: one restic repository in a folder or an S3 bucket."""

    class Kind(models.TextChoices):
        FILESYSTEM = "filesystem", "Folder on this server"
        S3 = "s3", "S3-compatible storage"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    path = models.CharField(max_length=500, blank=True)
    endpoint = models.CharField(max_length=300, blank=True)
    region = models.CharField(max_length=64, blank=True)
    bucket = models.CharField(max_length=63, blank=True)
    prefix = models.CharField(max_length=300, blank=True)
    access_key = models.CharField(max_length=200, blank=True)
    secret_key = EncryptedTextField(blank=True)
    # The restic repository password. Kept so backups run unattended; shown to the owner once
    # as the recovery key, which is all an import onto a new server needs besides the target.
    password = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)

    # Scheduled backups of every app with automatic backups on, then retention (cron, UTC).
    backup_schedule = models.CharField(max_length=100, default=DEFAULT_BACKUP_SCHEDULE)
    keep_daily = models.PositiveIntegerField(default=7)
    keep_weekly = models.PositiveIntegerField(default=4)
    keep_monthly = models.PositiveIntegerField(default=6)
    keep_within = models.CharField(max_length=32, blank=True, help_text="e.g. 30d; empty = off")
    check_schedule = models.CharField(max_length=100, default=DEFAULT_CHECK_SCHEDULE)

    class RunStatus(models.TextChoices):
        NEVER = "", "never"
        RUNNING = "running"
        OK = "ok"
        FAILED = "failed"

    # The scheduled minute last started (claimed atomically, so no minute runs twice).
    scheduled_slot = models.DateTimeField(null=True, blank=True)
    scheduled_status = models.CharField(
        max_length=8, choices=RunStatus.choices, blank=True, default=RunStatus.NEVER
    )
    scheduled_message = models.TextField(blank=True)
    scheduled_finished_at = models.DateTimeField(null=True, blank=True)
    check_slot = models.DateTimeField(null=True, blank=True)
    check_status = models.CharField(
        max_length=8, choices=RunStatus.choices, blank=True, default=RunStatus.NEVER
    )
    check_message = models.TextField(blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def retention(self) -> RetentionPolicy:
        return RetentionPolicy(
            keep_daily=self.keep_daily,
            keep_weekly=self.keep_weekly,
            keep_monthly=self.keep_monthly,
            keep_within=self.keep_within,
        )

    @property
    def storage(self) -> BackupStorage:
        return get_storage(self.kind)

    @property
    def location(self) -> str:
        return self.storage.repository_location(self)

    def repository(self) -> Repository:
        return Repository(
            location=self.location,
            password=self.password,
            env=self.storage.repository_env(self),
            cache_dir=str(settings.HEARTH_HOME / "restic-cache"),
        )


class Backup(models.Model):
    """One restic snapshot of one app, as the dashboard lists it."""

    class Reason(models.TextChoices):
        MANUAL = "manual"
        SCHEDULED = "scheduled"
        PRE_UPDATE = "pre-update"
        PRE_RESTORE = "pre-restore"

    app = models.ForeignKey(
        "core.AppInstance",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="backups",
    )
    # Kept after the app is gone: the label for the list, the id for the restic tag.
    app_label = models.CharField(max_length=300)
    app_uid = models.CharField(max_length=32)
    target = models.ForeignKey(BackupTarget, on_delete=models.CASCADE, related_name="backups")
    snapshot_id = models.CharField(max_length=64)
    app_version = models.CharField(max_length=64)
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.MANUAL)
    size = models.BigIntegerField(default=0, help_text="Bytes in the snapshot")
    data_added = models.BigIntegerField(default=0, help_text="Bytes this snapshot added")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.app_label} {self.snapshot_id[:8]} ({self.reason})"
