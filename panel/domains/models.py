from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

DOMAIN_NAME_VALIDATOR = RegexValidator(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
    "Enter a domain name in lower case, such as example.com.",
)


class Domain(models.Model):
    """A domain the owner serves apps on; each app lives at <subdomain>.<domain>."""

    name = models.CharField(max_length=253, unique=True, validators=[DOMAIN_NAME_VALIDATOR])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def dashboard_host(self) -> str:
        return f"my.{self.name}"
