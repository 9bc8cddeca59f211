from __future__ import annotations

from django import template

from panel.core.access import is_admin
from panel.domains.app_settings import env_lines
from panel.domains.forms import EnvOverridesForm, HostPortsForm
from panel.domains.ports import port_summary

register = template.Library()


@register.inclusion_tag("domains/partials/_app_settings.html", takes_context=True)
def app_ports_and_environment(context, app) -> dict:
    """The app page's Ports and Environment sections (the forms for admins only)."""
    admin = is_admin(context["request"].user)
    return {
        "app": app,
        "ports": port_summary(app),
        "is_admin": admin,
        "ports_form": HostPortsForm(app=app) if admin else None,
        "env_form": EnvOverridesForm(initial={"env_overrides": env_lines(app.env_overrides or {})})
        if admin
        else None,
        "csrf_token": context.get("csrf_token"),
    }
