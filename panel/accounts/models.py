from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone

from panel.accounts.roles import ROLE_LABELS, Role


class Membership(models.Model):
    """A person's place on this Hearth: their role, and the apps they operate."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    role = models.CharField(
        max_length=32, choices=[(r.value, ROLE_LABELS[r]) for r in Role], default=Role.USER
    )
    # Per-app operators may manage (start, stop, see logs of) only these apps.
    operated_apps = models.ManyToManyField("core.AppInstance", blank=True, related_name="operators")

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class AppAccess(models.Model):
    """Who may sign in to an app through Hearth's SSO (OIDC, LDAP, proxy auth)."""

    class Mode(models.TextChoices):
        EVERYONE = "everyone", "Everyone with an account"
        RESTRICTED = "restricted", "Only the users and groups listed"

    app = models.OneToOneField("core.AppInstance", on_delete=models.CASCADE, related_name="access")
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.EVERYONE)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="app_access")
    groups = models.ManyToManyField(Group, blank=True, related_name="app_access")

    def __str__(self) -> str:
        return f"access to {self.app}: {self.mode}"


def _invitation_token() -> str:
    return secrets.token_urlsafe(32)


def _invitation_expiry():
    return timezone.now() + timedelta(days=7)


class Invitation(models.Model):
    """A link that lets one person create their account; valid for a limited time, once."""

    email = models.EmailField()
    role = models.CharField(max_length=32, choices=[(r.value, ROLE_LABELS[r]) for r in Role])
    token = models.CharField(max_length=64, unique=True, default=_invitation_token)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation for {self.email}"

    @property
    def usable(self) -> bool:
        return self.accepted_at is None and timezone.now() < self.expires_at


class SecurityPolicy(models.Model):
    """Platform-wide sign-in rules set by the owner (a single row)."""

    require_mfa = models.BooleanField(
        default=False, help_text="Everyone must set up a second factor before using Hearth."
    )

    def __str__(self) -> str:
        return "security policy"

    @classmethod
    def current(cls) -> SecurityPolicy:
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy


class AppPassword(models.Model):
    """A password for one client that cannot do single sign-on (a mail or CalDAV app).

    Only its hash is kept; the person sees it once. Scoped to one app, or to every app when
    `app` is empty; the app's access rule still applies.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="app_passwords"
    )
    app = models.ForeignKey(
        "core.AppInstance", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(max_length=100)
    password_hash = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} of {self.user}"
