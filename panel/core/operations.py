"""The worker's side of app tasks: claim the Task row, do the steps, record the outcome.

Each operation is a list of steps on real Docker and nginx. Whatever happens, the task ends
`succeeded` or `failed` and the app ends in a state the user can act on: the target state, or
`error` with the reason (from which retry, start or uninstall are offered).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from addons.services import (
    app_addon_env,
    provision_app_addons,
    teardown_app_addons,
    teardown_unlisted_addons,
    update_app_addons,
)
from apps_store.manifest import validate_manifest
from panel.core.events import record_event
from panel.core.models import AppInstance, Event, Task
from panel.core.push import push_to_groups
from panel.core.states import CLAIMED, AppState
from panel.domains.services import (
    DnsStepFailed,
    alias_env,
    app_origin,
    create_app_records,
    ensure_app_certificate,
    release_app_names,
    remove_app_records,
)
from panel.monitoring.services import notify_task_failed
from panel.proxy.nginx import ProxyError, get_nginx
from panel.proxy.sites import remove_app_site, write_app_site, write_stopped_app_site
from panel.runtime.containers import RuntimeFailure, get_runtime
from panel.runtime.health import wait_until_healthy
from panel.runtime.spec import (
    app_resource_names,
    build_container_spec,
    contract_env,
    platform_env,
    published_ports,
    side_by_side_address,
)

log = logging.getLogger(__name__)


class StepFailed(Exception):
    pass


class TaskCancelled(Exception):
    """The owner cancelled the task; raised at a safe point so the operation unwinds."""


class TaskProgress:
    """Writes a task's percent, message and log, and pushes them to anyone watching.

    Each step of a cancellable task is also a cancel checkpoint (see checkpoint()).
    """

    def __init__(self, task: Task) -> None:
        from panel.core.services import CANCELLABLE_WHILE_RUNNING

        self.task = task
        # Turned off by the rollback after a cancel, whose own steps must run to the end.
        self.cancellable = task.kind in CANCELLABLE_WHILE_RUNNING and not task.params.get(
            "no_return"
        )

    def checkpoint(self) -> None:
        """Raise TaskCancelled if the owner asked to cancel; a no-op where that is unsafe."""
        asked = Task.objects.filter(pk=self.task.pk, cancel_requested=True).exists
        if self.cancellable and asked():
            raise TaskCancelled(f"{self.task.kind} cancelled")

    def step(self, percent: int, message: str) -> None:
        self.checkpoint()
        now = timezone.localtime().strftime("%H:%M:%S")
        self.task.percent = percent
        self.task.message = message
        self.task.log += f"{now} {message}\n"
        Task.objects.filter(pk=self.task.pk).update(
            percent=percent, message=message, log=self.task.log
        )
        push_task_update(self.task)


def push_task_update(task: Task) -> None:
    groups = [f"task-{task.pk}"] + ([f"app-{task.app_id.hex}"] if task.app_id else [])
    push_to_groups(
        groups,
        {
            "type": "task.update",
            "task": task.pk,
            "state": task.state,
            "percent": task.percent,
            "message": task.message,
        },
    )


# Steps shared by the operations ---------------------------------------------------------
def _spec(app: AppInstance, address: str = ""):
    manifest = validate_manifest(app.manifest)
    dashboard = f"http://{settings.HEARTH_DASHBOARD_SUBDOMAIN}.{app.domain.name}"
    origin = app_origin(app)
    env = contract_env(
        {**platform_env(origin, app.fqdn, dashboard), **alias_env(app), **app_addon_env(app)}
    )
    return build_container_spec(
        instance=settings.HEARTH_INSTANCE,
        app_hex_id=app.id.hex,
        image=app.image,
        fqdn=app.fqdn,
        http_port=manifest.http_port,
        memory_limit=app.memory_limit,
        capabilities=manifest.capabilities,
        runtime_dirs=manifest.runtime_dirs,
        env=env,
        ipv4_address=address,
        dashboard_host=f"{settings.HEARTH_DASHBOARD_SUBDOMAIN}.{app.domain.name}",
        ports=published_ports(manifest.data, app.host_ports or {}),
        env_overrides=app.env_overrides or {},
    )


def _wait_healthy(
    app: AppInstance, address: str, progress: TaskProgress, container: str = ""
) -> None:
    runtime = get_runtime()
    name = container or app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    path = app.manifest["healthCheckPath"]
    restarts = runtime.container_status(name).restart_count

    def is_alive() -> bool:
        progress.checkpoint()  # the wait is the longest part of an install
        # Docker's restart policy brings a crashing app back at once; a restart during the
        # wait means it crashed, even if it happens to be up again right now.
        status = runtime.container_status(name)
        return status.status == "running" and status.restart_count == restarts

    healthy, detail = wait_until_healthy(
        address,
        app.manifest["httpPort"],
        path,
        timeout=settings.HEARTH_HEALTH_TIMEOUT,
        is_alive=is_alive,
    )
    if not healthy:
        tail = runtime.container_logs(name, tail=15).strip()
        raise StepFailed(
            f"health check failed: {detail}" + (f"\nlast log lines:\n{tail}" if tail else "")
        )
    progress.step(95, f"Healthy: {detail}")


def _route_and_wait_healthy(app: AppInstance, progress: TaskProgress) -> None:
    """Point nginx at the container and poll its health check, side by side.

    Neither needs the other: the poll goes straight to the container address, and the nginx
    reload is most of the time of this step.
    """
    names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
    address = get_runtime().container_address(names.container, names.network)
    progress.step(
        75, f"Routing {app.fqdn} to {address}; waiting for {app.manifest['healthCheckPath']}"
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        routing = pool.submit(write_app_site, app, address)
        _wait_healthy(app, address, progress)
        routing.result()


# Operations -----------------------------------------------------------------------------
def install(app: AppInstance, progress: TaskProgress) -> AppState:
    """Also the retry path: every step is idempotent, so it repairs whatever is missing."""
    runtime = get_runtime()
    names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
    progress.step(10, f"Pulling {app.image}; creating the data volume and the app's network")
    # Independent Docker calls overlap; .result() re-raises the first failure.
    with ThreadPoolExecutor(max_workers=3) as pool:
        pulled = pool.submit(runtime.pull_image, app.image)
        network = pool.submit(runtime.ensure_network, names, app.id.hex)
        volume = pool.submit(runtime.ensure_volume, names, app.id.hex)
        address = network.result()
        pulled.result()
        volume.result()
    progress.step(45, "Provisioning addons")
    provision_app_addons(app, progress)
    path = app.manifest["healthCheckPath"]
    progress.step(55, f"Starting the container at {address}, routing {app.fqdn} to it")
    # The app's address is known before its container exists, so nginx is reloaded while
    # Docker starts the container instead of after.
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            routing = pool.submit(write_app_site, app, address)
            runtime.run_container(_spec(app, address))
            # DNS and the certificate overlap the app's start-up; HTTP-01 is answered on port
            # 80 by the site just written (or nginx's default server).
            progress.step(60, f"Creating the DNS record for {app.fqdn}")
            for note in _dns_step(create_app_records, app):
                progress.step(62, note)
            progress.step(65, f"Certificate for {app.fqdn} (if its domain uses TLS)")
            certificate = _dns_step(ensure_app_certificate, app)
            routing.result()
            if certificate is not None:
                progress.step(70, f"Serving {app.fqdn} over HTTPS")
                write_app_site(app, address)
            progress.step(75, f"Container started; waiting for {path}")
            _wait_healthy(app, address, progress)
    except Exception:
        # A failed install leaves no record behind; a retry creates it again.
        try:
            remove_app_records(app)
        except DnsStepFailed as exc:
            log.warning("undoing the DNS record of %s: %s", app, exc)
        raise
    return AppState.RUNNING


def _dns_step(function, app: AppInstance):
    try:
        return function(app)
    except DnsStepFailed as exc:
        raise StepFailed(str(exc)) from None


def start(app: AppInstance, progress: TaskProgress) -> AppState:
    names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
    runtime = get_runtime()
    progress.step(20, "Starting the container")
    if runtime.container_status(names.container).exists:
        runtime.start_container(names.container)
    else:
        address = runtime.ensure_network(names, app.id.hex)
        runtime.ensure_volume(names, app.id.hex)
        runtime.run_container(_spec(app, address))
    # A container can get a new address when it starts again, so nginx is told each time.
    _route_and_wait_healthy(app, progress)
    return AppState.RUNNING


def stop(app: AppInstance, progress: TaskProgress) -> AppState:
    names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
    progress.step(30, "Stopping the container")
    get_runtime().stop_container(names.container)
    progress.step(80, f"{app.fqdn} now shows that the app is stopped")
    write_stopped_app_site(app)
    return AppState.STOPPED


def restart(app: AppInstance, progress: TaskProgress) -> AppState:
    names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
    runtime = get_runtime()
    if progress.task.params.get("recreate"):
        # Host ports or environment overrides changed: they only reach a new container.
        progress.step(20, "Recreating the container with its new settings")
        runtime.run_container(_spec(app, runtime.ensure_network(names, app.id.hex)))
    else:
        progress.step(20, "Restarting the container")
        runtime.restart_container(names.container)
    _route_and_wait_healthy(app, progress)
    return AppState.RUNNING


def change_location(app: AppInstance, progress: TaskProgress) -> AppState:
    """Move DNS, certificate, nginx and the app's origin from the names it had to the ones
    it has now (a new location, or new aliases). On failure the new records go and the app
    keeps its old place, from which a retry (or another move) starts again."""
    from panel.domains.models import Domain, LocationChange
    from panel.domains.services import (
        app_hostnames,
        drop_stale_app_certificate,
        remove_records_for,
    )

    move = LocationChange.objects.select_related("old_domain").get(task_id=progress.task.pk)
    old_names = {fqdn: domain_id for fqdn, domain_id in move.old_names} or {
        move.old_fqdn: move.old_domain_id
    }
    runtime = get_runtime()
    names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
    try:
        progress.step(60, f"Creating the DNS records for {app.fqdn}")
        for note in _dns_step(create_app_records, app):
            progress.step(62, note)
        progress.step(65, f"Certificate for {app.fqdn} (if its domain uses TLS)")
        drop_stale_app_certificate(app)
        _dns_step(ensure_app_certificate, app)
        progress.step(70, f"Recreating the container with origin {app_origin(app)}")
        address = runtime.ensure_network(names, app.id.hex)
        runtime.run_container(_spec(app, address))
        write_app_site(app, address)
        progress.step(75, f"{app.fqdn} routed; waiting for {app.manifest['healthCheckPath']}")
        _wait_healthy(app, address, progress)
    except Exception:
        for host in app_hostnames(app):
            if host.fqdn not in old_names:
                try:
                    remove_records_for(host.domain, host.fqdn)
                except DnsStepFailed as exc:
                    log.warning("undoing the DNS record of %s: %s", host.fqdn, exc)
        AppInstance.objects.filter(pk=app.pk).update(
            subdomain=move.old_subdomain, domain=move.old_domain
        )
        raise
    current = {host.fqdn for host in app_hostnames(app)}
    for fqdn, domain_id in old_names.items():
        if fqdn not in current:
            progress.step(78, f"Removing the DNS record of {fqdn}, no longer used")
            domain = Domain.objects.get(pk=domain_id)
            _dns_step(lambda _app, d=domain, f=fqdn: remove_records_for(d, f), app)
    return AppState.RUNNING


def uninstall(app: AppInstance, progress: TaskProgress) -> None:
    progress.step(20, f"Removing {app.fqdn} from nginx")
    remove_app_site(app)
    progress.step(30, "Removing the app's addons")
    teardown_app_addons(app, progress)
    progress.step(50, "Removing the container, its data volume and its network")
    removed = get_runtime().remove_app(app.id.hex)
    progress.step(70, f"Removing the DNS record and certificate of {app.fqdn}")
    _dns_step(release_app_names, app)
    progress.step(
        90,
        f"Removed {len(removed.containers)} container(s), "
        f"{len(removed.volumes)} volume(s), {len(removed.networks)} network(s)",
    )
    return None


class RolledBack(Exception):
    """The update failed and the app runs its previous version again."""


# What an update changes on the app row, and puts back when it rolls back.
RELEASE_FIELDS = ("image", "version", "manifest", "memory_limit", "title")


def _set_release(app: AppInstance, **fields) -> None:
    for name, value in fields.items():
        setattr(app, name, value)
    AppInstance.objects.filter(pk=app.pk).update(**fields)


def _remember(task: Task, **values) -> None:
    """Keep in the task row what a worker started after a crash needs to undo the update."""
    task.params = {**task.params, **values}
    Task.objects.filter(pk=task.pk).update(params=task.params)


def past_point_of_no_return(progress: TaskProgress) -> None:
    """Honour a cancel asked for until now, then stop offering it: what follows (the nginx
    switch, the old container's removal) is not undone by a cancel."""
    progress.checkpoint()
    progress.cancellable = False
    _remember(progress.task, no_return=True)


def next_container_name(app: AppInstance) -> str:
    """The new version's container while it runs beside the current one (rolling update);
    it takes the app's own name once the old one is gone."""
    return f"{app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container}-next"


def _recreate_reason(app: AppInstance, new_manifest: dict) -> str:
    """Why the new version cannot start beside the old one ("" when it can)."""
    from apps_store.updates import recreate_reason

    reason = recreate_reason(app.manifest, new_manifest)
    if reason:
        return reason
    names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
    if not get_runtime().container_status(names.container).running:
        return "the app is not running, so nobody is served during the update"
    if getattr(_spec(app), "ports", None):
        return "the app publishes host ports, which two containers cannot share"
    return ""


def update(app: AppInstance, progress: TaskProgress) -> AppState:
    """Move the app to the task's release; if the new version does not come up healthy, put
    the previous image, manifest and addons back and report why (RolledBack).

    Rolling (the default): the new container starts beside the old one, nginx switches to it
    once it is healthy, then the old one goes; the old one serves until the switch. Apps that
    cannot run two copies (updateStrategy "recreate", dropped addons, host ports) are
    stopped first and, on failure, get their pre-update snapshot back.
    """
    from apps_store.models import Release

    task = progress.task
    release = Release.objects.get(pk=task.params["release"])
    manifest = validate_manifest(release.manifest)
    runtime = get_runtime()
    previous = {name: getattr(app, name) for name in RELEASE_FIELDS}
    reason = _recreate_reason(app, manifest.data)
    strategy = "recreate" if reason else "rolling"
    _remember(task, previous=previous, strategy=strategy)
    snapshot = _pre_update_backup(app, progress)
    if snapshot is not None:
        _remember(task, snapshot=snapshot.pk)
    progress.step(10, f"Pulling {release.pinned_image}")
    runtime.pull_image(release.pinned_image)
    if reason:
        # The old container goes next and a way back means restoring the snapshot.
        past_point_of_no_return(progress)
    # Data of addons the new version drops is kept here, for a rollback or by hand.
    dropped_data = Path(settings.HEARTH_HOME) / "updates" / f"task-{task.pk}"
    try:
        progress.step(30, f"Updating {app.title} {app.version} → {release.version}")
        _set_release(
            app,
            image=release.pinned_image,
            version=manifest.version,
            manifest=manifest.data,
            memory_limit=manifest.memory_limit,
            title=manifest.title,
        )
        update_app_addons(app, dropped_data, progress)
        if reason:
            progress.step(60, f"Starting {release.version} in place of the old container: {reason}")
            _replace_container(app, progress)
        else:
            _start_beside_and_switch(app, progress)
    except Exception as exc:  # noqa: BLE001 - any failure of the new version rolls back
        cancelled = isinstance(exc, TaskCancelled)
        progress.cancellable = False  # the way back runs to its end
        why = _describe(exc)
        progress.step(
            80,
            f"Cancelled; putting {previous['version']} back"
            if cancelled
            else f"{release.version} failed; rolling back to {previous['version']}",
        )
        _put_previous_release_back(
            app, previous, snapshot if reason else None, progress, since=task.started_at
        )
        if cancelled:
            raise
        raise RolledBack(
            f"the update to {release.version} failed and was rolled back; {app.title} runs "
            f"{previous['version']} again. Why: {why}"
        ) from exc
    if not reason:
        _retire_old_container(app, progress)
    from apps_store.updates import check_for_updates

    check_for_updates()  # the offer this update answered goes (or a newer one shows)
    record_event(
        "update_applied",
        app=app,
        actor=task.requested_by,
        message=f"{previous['version']} → {release.version}",
    )
    return AppState.RUNNING


def _replace_container(app: AppInstance, progress: TaskProgress) -> None:
    runtime = get_runtime()
    names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
    address = runtime.ensure_network(names, app.id.hex)
    runtime.run_container(_spec(app, address))
    write_app_site(app, address)
    progress.step(75, f"Waiting for {app.manifest['healthCheckPath']}")
    _wait_healthy(app, address, progress)


def _start_beside_and_switch(app: AppInstance, progress: TaskProgress) -> None:
    """Start the new version at the app's other address, wait until it is healthy, then
    point nginx at it (checked with nginx -t, graceful reload). Until the switch, and if any
    of this fails, the old container keeps serving as before."""
    runtime = get_runtime()
    names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
    current = runtime.container_address(names.container, names.network)
    address = side_by_side_address(runtime.network_subnet(names.network), current)
    name = next_container_name(app)
    progress.step(60, f"Starting {app.version} at {address}, beside the running one at {current}")
    runtime.run_container(replace(_spec(app, address), name=name), restart=False)
    progress.step(75, f"Waiting for {app.manifest['healthCheckPath']} of {app.version}")
    _wait_healthy(app, address, progress, container=name)
    runtime.keep_restarting(name)
    past_point_of_no_return(progress)
    progress.step(88, f"Switching {app.fqdn} to {app.version} at {address}")
    write_app_site(app, address)


def _retire_old_container(app: AppInstance, progress: TaskProgress) -> None:
    """After the switch: let nginx finish the requests it sent to the old container, stop
    and remove it, and give the new one the app's own name (which logs, terminals, backups,
    metrics and reconcile look it up by)."""
    runtime = get_runtime()
    names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
    if not get_nginx().wait_until_retired_workers_exit(settings.HEARTH_UPDATE_DRAIN_SECONDS):
        log.warning("nginx workers of %s still busy after the switch; stopping anyway", app)
    progress.step(92, "Stopping the previous version")
    runtime.stop_container(names.container)
    runtime.remove_container(names.container)
    runtime.rename_container(next_container_name(app), names.container)


def _put_previous_release_back(
    app: AppInstance, previous: dict, snapshot, progress: TaskProgress, since=None
) -> None:
    """Make the app run `previous` again, from wherever an update stopped: its row, its
    addons, its container (the old one if it still exists, else a new one) and nginx.

    `snapshot` (recreate updates only) is restored when the old container had been replaced:
    the new version may have changed the data. A rolling update never restores it: the old
    version kept serving, and its writes during the update must not be lost.
    """
    runtime = get_runtime()
    names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
    _set_release(app, **previous)
    provision_app_addons(app, progress)
    teardown_unlisted_addons(app, progress)  # the addons only the new version listed
    runtime.remove_container(next_container_name(app))
    created = runtime.container_created(names.container)
    old_kept = created is not None and (since is None or created < since.timestamp())
    if old_kept:
        status = runtime.container_status(names.container)
        if status.status == "paused":  # the worker died during a pre-update backup's copy
            runtime.unpause_container(names.container)
        elif not status.running:
            runtime.start_container(names.container)
    else:
        runtime.run_container(_spec(app, runtime.ensure_network(names, app.id.hex)))
        if snapshot is not None:
            # The new version may have changed the data before failing: the old version
            # gets the data it had, from the snapshot taken before the update.
            from panel.backups.services import restore_data

            progress.step(85, f"Restoring the pre-update backup {snapshot.snapshot_id[:8]}")
            runtime.stop_container(names.container)
            restore_data(app, snapshot)
            runtime.start_container(names.container)
    address = runtime.container_address(names.container, names.network)
    write_app_site(app, address)
    _wait_healthy(app, address, progress)


def _pre_update_backup(app: AppInstance, progress: TaskProgress):
    """A snapshot to roll back to, on the first backup target (None when there is none)."""
    from panel.backups.models import Backup, BackupTarget
    from panel.backups.services import backup_app

    target = BackupTarget.objects.order_by("pk").first()
    if target is None:
        progress.step(5, "No backup target: updating without a pre-update backup")
        return None
    progress.step(5, f"Backing up {app.title} to {target.name} before the update")
    return backup_app(app, target, Backup.Reason.PRE_UPDATE)


def recover_interrupted_update(task: Task) -> None:
    """A worker died during this update: put the app's previous release back (row, addons,
    container, nginx) so it runs the version it ran before, and fail the task saying so."""
    from panel.backups.models import Backup

    app = AppInstance.objects.select_related("domain").get(pk=task.app_id)
    progress = TaskProgress(task)
    previous = task.params.get("previous") or {name: getattr(app, name) for name in RELEASE_FIELDS}
    snapshot = None
    if task.params.get("strategy") == "recreate" and task.params.get("snapshot"):
        snapshot = Backup.objects.filter(pk=task.params["snapshot"]).first()
    try:
        progress.step(task.percent, f"The worker stopped; putting {previous['version']} back")
        _put_previous_release_back(app, previous, snapshot, progress, since=task.started_at)
    except Exception as exc:  # noqa: BLE001 - what is left must be retryable, not stuck
        reason = (
            f"the worker stopped during the update and putting {previous['version']} back "
            f"failed: {_describe(exc)}; retry or restore a backup"
        )
        log.warning("recovering update task %s: %s", task.pk, reason, exc_info=True)
        _fail_app(app, reason)
        _finish(task, Task.State.FAILED, error=reason)
        record_event(task.kind, app=app, outcome=Event.Outcome.FAILED, message=reason)
        return
    AppInstance.objects.filter(pk=app.pk).update(state=AppState.RUNNING, error="")
    reason = (
        f"the worker stopped during the update and it was rolled back; {app.title} runs "
        f"{previous['version']} again. Retry the update when you are ready"
    )
    _finish(task, Task.State.FAILED, error=reason)
    record_event("rollback", app=app, outcome=Event.Outcome.FAILED, message=reason)


OPERATIONS: dict[str, Callable[[AppInstance, TaskProgress], AppState | None]] = {
    Task.Kind.INSTALL: install,
    Task.Kind.START: start,
    Task.Kind.STOP: stop,
    Task.Kind.RESTART: restart,
    Task.Kind.UNINSTALL: uninstall,
    Task.Kind.UPDATE: update,
    # Not (yet) one of Task.Kind's choices: the kind is stored as this plain string.
    "change_location": change_location,
}


def _clone(app: AppInstance, progress: TaskProgress) -> AppState:
    """A new app from a snapshot: the install steps, then the snapshot's data (backups)."""
    from panel.backups.clone import clone_into

    return clone_into(app, progress)


OPERATIONS[Task.Kind.CLONE] = _clone
OPERATIONS[Task.Kind.IMPORT] = _clone


def execute_task(task_id: int, worker: str = "") -> None:
    """Run one queued task to its end. Returns quietly if another worker claimed it."""
    claimed = Task.objects.filter(pk=task_id, state=Task.State.QUEUED).update(
        state=Task.State.RUNNING, started_at=timezone.now(), worker=worker
    )
    if not claimed:
        return
    task = Task.objects.select_related("app__domain").get(pk=task_id)
    app = task.app
    progress = TaskProgress(task)
    if app is None:
        _finish(task, Task.State.FAILED, error="the app no longer exists")
        return
    try:
        app.transition_to(CLAIMED[AppState(app.state)])
        progress.step(2, f"{task.get_kind_display()} started")
        final_state = OPERATIONS[task.kind](app, progress)
        # The bookkeeping is inside the try too: a task must never stay "running" because
        # its last write failed.
        _succeed(task, app, final_state)
    except TaskCancelled:
        progress.cancellable = False
        _unwind_cancelled(task, app, progress)
    except RolledBack as exc:
        # Not an outage: the app is back on its previous version and keeps running. The
        # "rollback" event is what tells the admins (panel.monitoring.signals).
        app.transition_to(AppState.RUNNING)
        _finish(task, Task.State.FAILED, error=str(exc))
        record_event(
            "rollback",
            app=app,
            outcome=Event.Outcome.FAILED,
            message=str(exc),
            actor=task.requested_by,
        )
    except Exception as exc:  # noqa: BLE001 - every failure must end in a retryable state
        reason = _describe(exc)
        log.warning(
            "task %s (%s %s) failed: %s",
            task.pk,
            task.kind,
            app,
            reason,
            exc_info=not isinstance(exc, StepFailed | RuntimeFailure | ProxyError),
        )
        _fail_app(app, reason)
        _finish(task, Task.State.FAILED, error=reason)
        record_event(
            task.kind,
            app=app,
            outcome=Event.Outcome.FAILED,
            message=reason,
            actor=task.requested_by,
        )
        try:
            notify_task_failed(task, app, reason)
        except Exception:  # noqa: BLE001 - an alert must not change the task's outcome
            log.warning("could not notify admins of task %s", task.pk, exc_info=True)


def _unwind_cancelled(task: Task, app: AppInstance, progress: TaskProgress) -> None:
    """Undo what a cancelled task made. A task that created its app removes all of it, as
    if never asked for; a retry leaves the app in error, from which the owner acts again."""
    from panel.core.services import creates_app

    label = str(app)
    if task.kind == Task.Kind.UPDATE:
        # update() already put the previous release back (or had changed nothing yet).
        app.transition_to(AppState.RUNNING)
        finish_cancelled(task)
        record_event("cancelled", app=app, actor=task.requested_by, message=task.kind)
        return
    try:
        if creates_app(task):
            progress.step(90, "Cancelled: removing what the install made")
            uninstall(app, progress)
            with transaction.atomic():
                app.delete()
                finish_cancelled(task)
                record_event(
                    "cancelled", app_label=label, actor=task.requested_by, message=task.kind
                )
            return
        _fail_app(app, f"The {task.kind} was cancelled; retry, start or uninstall the app.")
    except Exception as exc:  # noqa: BLE001 - a failed clean-up leaves the app retryable
        reason = f"cancelled, but cleaning up failed: {_describe(exc)}"
        log.warning("task %s: %s", task.pk, reason, exc_info=True)
        _fail_app(app, reason)
        _finish(task, Task.State.FAILED, error=reason)
        record_event("cancelled", app=app, outcome=Event.Outcome.FAILED, message=reason)
        return
    finish_cancelled(task)
    record_event("cancelled", app=app, actor=task.requested_by, message=task.kind)


def finish_cancelled(task: Task) -> None:
    task.state = Task.State.CANCELLED
    task.finished_at = timezone.now()
    task.message = "Cancelled"
    Task.objects.filter(pk=task.pk).update(
        state=task.state, finished_at=task.finished_at, message=task.message
    )
    push_task_update(task)


def _succeed(task: Task, app: AppInstance, final_state: AppState | None) -> None:
    if final_state is None:  # the app is gone (uninstall): only its label stays in the log
        label = str(app)
        with transaction.atomic():
            app.delete()
            _finish(task, Task.State.SUCCEEDED)
            record_event(task.kind, app=None, app_label=label, actor=task.requested_by)
        return
    app.transition_to(final_state)
    _finish(task, Task.State.SUCCEEDED)
    record_event(task.kind, app=app, actor=task.requested_by)


def _describe(exc: Exception) -> str:
    if isinstance(exc, StepFailed | RuntimeFailure | ProxyError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _fail_app(app: AppInstance, reason: str) -> None:
    AppInstance.objects.filter(pk=app.pk).update(state=AppState.ERROR, error=reason[:5000])


def _finish(task: Task, state: str, error: str = "") -> None:
    task.state = state
    task.error = error
    task.finished_at = timezone.now()
    if state == Task.State.SUCCEEDED:
        task.percent = 100
        task.message = "Done"
    else:
        task.message = "Failed"
    # An UPDATE by id, not save(): after an uninstall the task's app object is already deleted.
    Task.objects.filter(pk=task.pk).update(
        state=state,
        error=error,
        finished_at=task.finished_at,
        percent=task.percent,
        message=task.message,
    )
    push_task_update(task)


def recover_interrupted_tasks(worker: str) -> int:
    """Fail tasks a dead worker left running, and put their apps where a user can retry.

    Called when a worker starts: with the same name, the previous process is gone.
    """
    count = 0
    for task in Task.objects.filter(state=Task.State.RUNNING, worker=worker).select_related("app"):
        if task.kind == Task.Kind.RESTORE and task.app is not None:
            from panel.backups.operations import recover_interrupted_restore

            # Running on its old data, or in error with the pre-restore backup named.
            recover_interrupted_restore(task)
            count += 1
            continue
        if task.kind == Task.Kind.UPDATE and task.app is not None:
            # An update stopped halfway is undone, not left for the owner to untangle.
            recover_interrupted_update(task)
            count += 1
            continue
        if task.kind == Task.Kind.BACKUP and task.app is not None:
            from panel.backups.operations import unpause_after_interrupted_backup

            # Killed while copying the data of an app that pauses for it.
            unpause_after_interrupted_backup(task.app)
        reason = "the worker stopped while this task was running; retry it"
        _finish(task, Task.State.FAILED, error=reason)
        # A backup never touches its app, which still runs as it did.
        if task.app is not None and task.kind != Task.Kind.BACKUP:
            _fail_app(task.app, reason)
            record_event(task.kind, app=task.app, outcome=Event.Outcome.FAILED, message=reason)
        count += 1
    return count
