"""Notifications for what other parts of Hearth record: failed certificate renewals, backups
and updates in the event log, and updates found by the store sync.

Receivers, so those parts need not know about notifications. Task failures are notified by
the worker itself (panel.core.operations) and are skipped here.
"""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from panel.core.models import Event, Task
from panel.monitoring.models import Notification
from panel.monitoring.notifications import notify_admins

# Failed events worth an alert, and whether to mail it (certificate renewal failures are
# already mailed by panel.domains).
ALERT_ON_FAILURE = {
    "certificate_renewal": False,
    "dynamic_dns": True,
    "backup": True,
    "restore": True,
    "update": True,
}
# Failures of these tasks are notified by panel.core.operations itself; backups and restores
# run their own worker task and are alerted through their events here.
NOTIFIED_BY_THE_WORKER = set(Task.Kind.values) - {"backup", "restore"}
# Worth telling whatever the outcome.
ALERT_ALWAYS = {"update_applied": "updated", "rollback": "rolled back"}


@receiver(post_save, sender=Event, dispatch_uid="monitoring-event-alerts")
def alert_on_event(sender, instance: Event, created: bool, **kwargs) -> None:
    if not created or instance.action in NOTIFIED_BY_THE_WORKER:
        return
    label = instance.app_label or "Hearth"
    if instance.outcome == Event.Outcome.FAILED and instance.action in ALERT_ON_FAILURE:
        notify_admins(
            f"{instance.action}_failed",
            f"{instance.action.replace('_', ' ').capitalize()} failed: {label}",
            instance.message,
            app=instance.app,
            level=Notification.Level.CRITICAL,
            email=ALERT_ON_FAILURE[instance.action],
        )
    elif instance.action in ALERT_ALWAYS:
        notify_admins(
            instance.action,
            f"{label} {ALERT_ALWAYS[instance.action]}",
            instance.message,
            app=instance.app,
            level=Notification.Level.INFO
            if instance.outcome == Event.Outcome.OK
            else Notification.Level.WARNING,
        )


def _update_found(sender, instance, **kwargs) -> None:
    app = instance.app
    title = f"Update available: {app.title} {instance.release.version}"
    # The store sync rewrites the row every few hours: one notification per version.
    if Notification.objects.filter(kind="update_available", app=app, title=title).exists():
        return
    notify_admins(
        "update_available",
        title,
        f"{app.fqdn} runs {app.version}; {instance.release.version} is in the App Store.",
        app=app,
        level=Notification.Level.INFO,
    )


def connect_store_signals() -> None:
    from apps_store.models import AvailableUpdate

    post_save.connect(_update_found, sender=AvailableUpdate, dispatch_uid="monitoring-update")
