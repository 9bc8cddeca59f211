from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from panel.core.states import AppState, check_transition


class AppInstance(models.Model):
    """An app installed on this Hearth: what should run, where, and in which state."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store_app_id = models.CharField(max_length=200)
    title = models.CharField(max_length=200)
    version = models.CharField(max_length=64)
    manifest = models.JSONField()
    image = models.CharField(max_length=500, help_text="Image reference, pinned by digest")
    subdomain = models.CharField(max_length=63)
    domain = models.ForeignKey("domains.Domain", on_delete=models.PROTECT, related_name="apps")
    state = models.CharField(
        max_length=32,
        choices=[(s.value, s.value.replace("_", " ").capitalize()) for s in AppState],
        default=AppState.PENDING_INSTALL,
    )
    error = models.TextField(blank=True)
    memory_limit = models.BigIntegerField()
    # The last health sweep's verdict (healthy, unhealthy, down, oom, restarting); details
    # live in panel.monitoring. On the row itself so the app list needs no extra query.
    health = models.CharField(max_length=16, blank=True, default="")
    # Environment variables the owner set for this app; they reach the container beside
    # Hearth's own (which win on a clash, so an override cannot break an addon's wiring).
    env_overrides = models.JSONField(default=dict, blank=True)
    # Host ports for the manifest's tcpPorts/udpPorts, by their environment variable name.
    host_ports = models.JSONField(default=dict, blank=True)
    # Owner's switches: install updates in the update window; take scheduled backups.
    auto_update = models.BooleanField(default=True)
    automatic_backups = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["subdomain", "domain__name"]
        constraints = [
            models.UniqueConstraint(fields=["subdomain", "domain"], name="unique_app_location"),
        ]

    def __str__(self) -> str:
        return f"{self.title} at {self.fqdn}"

    @property
    def fqdn(self) -> str:
        return f"{self.subdomain}.{self.domain.name}"

    @property
    def short_id(self) -> str:
        return self.id.hex[:12]

    @property
    def url(self) -> str:
        """Where browsers reach the app: https when it has a certificate, with the port when
        Hearth's nginx is not on the standard one."""
        from panel.domains.services import app_origin

        return app_origin(self)

    def transition_to(self, target: AppState, *, error: str = "") -> None:
        """Move to `target` if the state machine allows it from the state in the database.

        The conditional UPDATE makes the check and the write one step, so two workers (or a
        worker and a request) can never both win the same move.
        """
        current = AppInstance.objects.filter(pk=self.pk).values_list("state", flat=True).first()
        if current is None:
            raise AppInstance.DoesNotExist(f"app {self.pk} is gone")
        check_transition(current, target)
        changed = AppInstance.objects.filter(pk=self.pk, state=current).update(
            state=target.value, error=error, updated_at=timezone.now()
        )
        if not changed:
            raise AppStateChanged(f"app {self.pk} changed state while moving to {target.value}")
        self.state = target.value
        self.error = error


class AppStateChanged(Exception):
    pass


class Task(models.Model):
    """User-visible long work: one row per install/start/stop/... with its progress."""

    class Kind(models.TextChoices):
        INSTALL = "install"
        START = "start"
        STOP = "stop"
        RESTART = "restart"
        UNINSTALL = "uninstall"
        UPDATE = "update"
        BACKUP = "backup"
        RESTORE = "restore"
        CLONE = "clone"
        IMPORT = "import"

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    app = models.ForeignKey(
        AppInstance, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    app_label = models.CharField(max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    percent = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    log = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    # What the task needs beyond the app, e.g. the release an update goes to.
    params = models.JSONField(default=dict, blank=True)
    # Set by the owner's cancel button; the worker stops at its next safe point.
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["app", "state"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.app_label} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)

    @property
    def duration(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class Event(models.Model):
    """The event log: every user action and every task outcome, kept after the app is gone."""

    class Outcome(models.TextChoices):
        OK = "ok"
        FAILED = "failed"
        INFO = "info"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    app = models.ForeignKey(
        AppInstance, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    app_label = models.CharField(max_length=300, blank=True)
    action = models.CharField(max_length=64)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.OK)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.app_label} {self.outcome}"
