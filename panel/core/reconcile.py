"""Desired state (the database) against actual state (Docker, nginx): repair the drift."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings

from panel.core.models import AppInstance
from panel.core.operations import next_container_name
from panel.core.spare_networks import spare_app_ids
from panel.core.states import AppState
from panel.proxy.nginx import get_nginx
from panel.proxy.sites import app_site_name, write_app_site, write_stopped_app_site
from panel.runtime.containers import get_runtime
from panel.runtime.spec import app_resource_names

log = logging.getLogger(__name__)

# States no task is working in: the ones reconcile may repair.
STABLE = (AppState.RUNNING, AppState.STOPPED)


@dataclass
class ReconcileReport:
    removed_containers: list[str] = field(default_factory=list)
    removed_sites: list[str] = field(default_factory=list)
    removed_networks: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    rewritten_sites: list[str] = field(default_factory=list)
    kept_volumes: list[str] = field(default_factory=list)


def reconcile_apps() -> ReconcileReport:
    report = ReconcileReport()
    runtime = get_runtime()
    nginx = get_nginx()
    apps = {app.id.hex: app for app in AppInstance.objects.select_related("domain")}
    wanted_sites = {app_site_name(app) for app in apps.values()}

    for name in nginx.site_names():
        if name.startswith("app-") and name not in wanted_sites:
            nginx.remove_site(name)
            report.removed_sites.append(name)

    actual = runtime.app_resources()
    # One listing with the labels, not one lookup per container.
    for name, app_hex in runtime.app_containers().items():
        if app_hex not in apps:
            runtime.remove_container(name)
            report.removed_containers.append(name)
        elif name == next_container_name(apps[app_hex]) and apps[app_hex].state in STABLE:
            # A rolling update's new container that no update is working on any more.
            runtime.remove_container(name)
            report.removed_containers.append(name)
    # Networks made for apps that are gone; spare ones wait for the next install.
    spare = spare_app_ids()
    for name, app_hex in runtime.app_networks().items():
        if app_hex not in apps and app_hex not in spare and runtime.remove_network(name):
            report.removed_networks.append(name)
    # Orphan volumes may hold the only copy of someone's data: report them, never delete.
    wanted_volumes = {app_resource_names(settings.HEARTH_INSTANCE, h).volume for h in apps}
    report.kept_volumes = [v for v in actual.volumes if v not in wanted_volumes]

    for app in apps.values():
        if app.state not in STABLE:
            continue  # a task owns it right now
        names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
        status = runtime.container_status(names.container)
        if app.state == AppState.RUNNING and status.exists and not status.running:
            runtime.start_container(names.container)
            report.restarted.append(str(app))
        if not nginx.site_path(app_site_name(app)).exists():
            if app.state == AppState.RUNNING and status.exists:
                write_app_site(app, runtime.container_address(names.container, names.network))
            else:
                write_stopped_app_site(app)
            report.rewritten_sites.append(str(app))
    if any(vars(report).values()):
        log.info("reconcile: %s", report)
    return report
