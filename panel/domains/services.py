from __future__ import annotations

from django.conf import settings

from panel.domains.models import Domain


def ensure_default_domain() -> Domain:
    """A fresh Hearth serves on one domain (`localhost` unless HEARTH_DOMAIN says otherwise)."""
    domain, _ = Domain.objects.get_or_create(name=settings.HEARTH_DEFAULT_DOMAIN)
    return domain
