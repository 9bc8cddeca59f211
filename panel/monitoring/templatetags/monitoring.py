from __future__ import annotations

from django import template

from panel.monitoring.notifications import unread_count

register = template.Library()


@register.simple_tag
def unread_notifications(user) -> int:
    """For the top bar; one COUNT on an indexed column per page."""
    if not (user and user.is_authenticated):
        return 0
    return unread_count(user)
