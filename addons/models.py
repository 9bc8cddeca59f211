from __future__ import annotations

from django.db import models


class AddonInstance(models.Model):
    """One addon of one app: its options from the manifest and the credentials made for it."""

    class State(models.TextChoices):
        # Saved before anything is created, so a crash mid-way leaves a row that says what to
        # clean up; becomes READY once every resource exists.
        PROVISIONING = "provisioning"
        READY = "ready"

    app = models.ForeignKey("core.AppInstance", on_delete=models.CASCADE, related_name="addons")
    addon = models.CharField(max_length=32)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PROVISIONING)
    options = models.JSONField(default=dict, blank=True)
    credentials = models.JSONField(default=dict, blank=True)
    # Per-addon bookkeeping that is not a secret (e.g. the scheduler's last run per job).
    status = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["app", "addon"]
        constraints = [
            models.UniqueConstraint(fields=["app", "addon"], name="unique_addon_per_app"),
        ]

    def __str__(self) -> str:
        return f"{self.addon} of {self.app_id}"

    def ensure_credentials(self, make: dict[str, str]) -> dict[str, str]:
        """Keep the credentials made the first time: a retry must not change them."""
        if not self.credentials:
            self.credentials = make
            self.save(update_fields=["credentials", "updated_at"])
        return self.credentials
