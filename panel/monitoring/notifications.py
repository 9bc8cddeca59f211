"""The notification centre and email alerts to admins."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone

from panel.core.models import AppInstance
from panel.core.push import push_to_groups
from panel.monitoring.models import Notification

log = logging.getLogger(__name__)


def admins():
    return get_user_model().objects.filter(Q(is_staff=True) | Q(is_superuser=True), is_active=True)


def notify_admins(
    kind: str,
    title: str,
    message: str = "",
    *,
    app: AppInstance | None = None,
    level: str = Notification.Level.WARNING,
    email: bool = True,
) -> list[Notification]:
    """One notification per admin, a push to their open pages, and one email to them all.

    Mail failures are logged, never raised: an alert must not break the sweep that found
    the problem, and the notification centre still has it.
    """
    recipients = list(admins())
    notes = Notification.objects.bulk_create(
        [
            Notification(user=user, app=app, kind=kind, level=level, title=title, message=message)
            for user in recipients
        ]
    )
    for user in recipients:
        push_to_groups(
            [f"notifications-{user.pk}"],
            {"type": "notification.new", "title": title, "unread": unread_count(user)},
        )
    addresses = sorted({user.email for user in recipients if user.email})
    if email and addresses:
        body = message + (f"\n\nApp: {app.fqdn}" if app is not None else "")
        try:
            send_mail(
                f"[Hearth] {title}",
                body,
                settings.DEFAULT_FROM_EMAIL,
                addresses,
                fail_silently=False,
            )
        except Exception:  # noqa: BLE001 - any SMTP or network failure
            log.warning("could not email %s about %s", addresses, kind, exc_info=True)
    return notes


def unread_count(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def mark_read(user, notification_id: int | None = None) -> int:
    """Mark one of the user's notifications (or all of them) read; returns how many changed."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=timezone.now())
