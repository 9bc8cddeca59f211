from __future__ import annotations

from django import template

from panel.backups.models import BackupTarget
from panel.core.access import is_admin

register = template.Library()


@register.inclusion_tag("backups/partials/_app_backups.html", takes_context=True)
def app_backups(context, app) -> dict:
    """The Backups section of the app page, with what it needs from the database."""
    request = context["request"]
    return {
        "app": app,
        "backups": app.backups.select_related("target")[:50],
        "targets": BackupTarget.objects.all(),
        "is_admin": is_admin(request.user),
        "csrf_token": context.get("csrf_token"),
        "busy": context.get("busy"),
    }
