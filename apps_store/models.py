from __future__ import annotations

from django.db import models


class StoreApp(models.Model):
    """An app the store offers; what the App Store page lists."""

    app_id = models.CharField(max_length=200, unique=True)
    title = models.CharField(max_length=200)
    tagline = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list)
    icon = models.TextField(blank=True, help_text="data: URL of the app's icon")
    updated_at = models.DateTimeField(auto_now=True)

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
    published_at = models.DateTimeField(auto_now_add=True)

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
