from __future__ import annotations

from django import template

from apps_store.models import AvailableUpdate, UpdateWindowSetting
from apps_store.updates import confirmation_reason
from panel.core.access import is_admin

register = template.Library()


@register.inclusion_tag("apps_store/partials/_auto_update.html", takes_context=True)
def app_auto_update(context, app) -> dict:
    """The app page's automatic-update switch, with the window it runs in."""
    offer = AvailableUpdate.objects.filter(app=app).select_related("release").first()
    return {
        "app": app,
        "window": UpdateWindowSetting.current().window(),
        "reason": confirmation_reason(app.manifest, offer.release.manifest) if offer else "",
        "is_admin": is_admin(context["request"].user),
        "csrf_token": context.get("csrf_token"),
    }
