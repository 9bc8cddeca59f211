"""The host firewall follows apps' published ports: an app installed with ports, its ports
changed, or the app removed (the uninstall task deletes the row) — it is loaded again."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from panel.core.models import AppInstance
from panel.domains.host_firewall import reapply_on_commit


@receiver(post_save, sender=AppInstance, dispatch_uid="domains-firewall-saved")
def app_ports_saved(sender, instance: AppInstance, created: bool, update_fields=None, **kwargs):
    changed = created or (update_fields is not None and "host_ports" in update_fields)
    if changed and instance.host_ports:
        reapply_on_commit()


@receiver(post_delete, sender=AppInstance, dispatch_uid="domains-firewall-deleted")
def app_removed(sender, instance: AppInstance, **kwargs):
    if instance.host_ports:
        reapply_on_commit()
