from __future__ import annotations

from django.db import models
from django.utils import timezone


class StoreApp(models.Model):
    """An app the store offers; what the App Store page lists."""

    app_id = models.CharField(max_length=200, unique=True)
    title = models.CharField(max_length=200)
    tagline = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list)
    icon = models.TextField(blank=True, help_text="data: URL of the app's icon")
    updated_at = models.DateTimeField(auto_now=True)
    source = models.CharField(
        max_length=500, blank=True, help_text="URL of the store it was synced from; empty if here"
    )

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    @property
    def latest_release(self) -> Release | None:
        # Releases are ordered newest first by semver at write time (see Release.sort_key).
        return self.releases.order_by("-sort_key").first()


class Release(models.Model):
    """One published version of a store app: manifest plus an image pinned by digest."""

    store_app = models.ForeignKey(StoreApp, on_delete=models.CASCADE, related_name="releases")
    version = models.CharField(max_length=64)
    # Zero-padded semver so the database can order releases without parsing.
    sort_key = models.CharField(max_length=64, db_index=True)
    manifest = models.JSONField()
    image = models.CharField(max_length=400, help_text="repository:tag in the registry")
    image_digest = models.CharField(max_length=100)
    changelog = models.TextField(blank=True)
    # Not auto_now_add: a release synced from another store keeps the date it was signed with.
    published_at = models.DateTimeField(default=timezone.now)
    signature = models.TextField(blank=True, help_text="Ed25519 signature, base64")
    signing_key = models.CharField(
        max_length=64, blank=True, help_text="public key of the store that signed it, base64"
    )

    class Meta:
        ordering = ["-sort_key"]
        constraints = [
            models.UniqueConstraint(fields=["store_app", "version"], name="unique_release_version"),
        ]

    def __str__(self) -> str:
        return f"{self.store_app.app_id}@{self.version}"

    @property
    def pinned_image(self) -> str:
        repository = self.image.rsplit(":", 1)[0]
        return f"{repository}@{self.image_digest}"


class StoreSource(models.Model):
    """A store this Hearth syncs from, with the outcome of the last attempt."""

    url = models.CharField(max_length=500, unique=True)
    public_key = models.CharField(max_length=64, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    app_count = models.PositiveIntegerField(default=0)
    release_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["url"]

    def __str__(self) -> str:
        return self.url


class AvailableUpdate(models.Model):
    """An installed app for which the catalog has a newer release (kept by check_for_updates)."""

    app = models.OneToOneField(
        "core.AppInstance",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="available_update",
    )
    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="+")
    found_at = models.DateTimeField(default=timezone.now)
    # The release the owner was told needs their confirmation (new addons or ports), so the
    # automatic-update run says it once per release, not every time it runs.
    confirmation_asked_for = models.ForeignKey(
        Release, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.app_id} -> {self.release}"

    @property
    def version(self) -> str:
        return self.release.version


class UpdateWindowSetting(models.Model):
    """When automatic updates may start (one row, edited on the Updates page)."""

    days = models.JSONField(default=list, help_text="days of the week, 0 = Monday")
    start_hour = models.PositiveSmallIntegerField(default=2)
    end_hour = models.PositiveSmallIntegerField(default=5)
    timezone = models.CharField(max_length=64, default="UTC")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.window().describe()

    @classmethod
    def current(cls) -> UpdateWindowSetting:
        from django.conf import settings

        setting, _ = cls.objects.get_or_create(
            pk=1, defaults={"days": list(range(7)), "timezone": settings.TIME_ZONE}
        )
        return setting

    def window(self):
        from apps_store.update_window import UpdateWindow

        return UpdateWindow(frozenset(self.days), self.start_hour, self.end_hour, self.timezone)
