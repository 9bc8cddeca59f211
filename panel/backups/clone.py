"""Clone: one app's snapshot made into a new app at a new location.

The request (request_clone, and panel.backups.importing for a snapshot from another Hearth)
reads the configuration the snapshot stored (app.json), checks the new location and that the
image is in this Hearth's registry, and creates the new app `pending_install` with a CLONE or
IMPORT task, all in one transaction. The worker (clone_into, through
panel.core.operations.execute_task) runs the normal install steps (network, addons with
fresh credentials, container, DNS record, nginx, certificate, health), then puts the
snapshot's data and addon dumps in place of the empty ones and health-checks again.

A failure leaves the new app in `error`, like a failed install: retry runs the clone again
(panel.core.services re-queues the failed task's kind), uninstall removes all of it. The
source app is never touched: everything here is keyed by the new app's id.
"""

from __future__ import annotations

import json
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction

from panel.backups.models import Backup
from panel.backups.restic import Restic, ResticError
from panel.backups.services import CONFIG_FILE, restore_data
from panel.core.events import record_event
from panel.core.models import AppInstance, Task
from panel.core.services import ActionRejected, check_location, enqueue_task
from panel.core.spare_networks import return_spare_app_id, take_spare_app_id
from panel.core.states import AppState
from panel.domains.models import Domain
from panel.runtime.containers import get_runtime
from panel.runtime.spec import app_resource_names

# What a snapshot's app.json must hold to make an app from it.
REQUIRED_CONFIGURATION = ("store_app_id", "title", "version", "image", "manifest", "memory_limit")


def read_configuration(restic: Restic, snapshot_id: str) -> dict:
    """The app configuration a Hearth snapshot stored (app.json), checked for what a new app
    needs. Raises ResticError when the snapshot is unreadable or not a Hearth app backup."""
    try:
        configuration = json.loads(restic.dump(snapshot_id, f"/{CONFIG_FILE}"))
    except ResticError as exc:
        if "not found in snapshot" in str(exc):
            raise ResticError(f"snapshot {snapshot_id} holds no Hearth app backup") from None
        raise
    except json.JSONDecodeError as exc:
        raise ResticError(f"snapshot {snapshot_id}: {CONFIG_FILE} is not JSON ({exc})") from None
    if not isinstance(configuration, dict):
        raise ResticError(f"snapshot {snapshot_id}: {CONFIG_FILE} is not a JSON object")
    missing = [key for key in REQUIRED_CONFIGURATION if key not in configuration]
    if missing:
        raise ResticError(f"snapshot {snapshot_id}: {CONFIG_FILE} lacks {', '.join(missing)}")
    return configuration


def image_problem(image: str) -> str:
    """Why this Hearth cannot run the snapshot's image, or "" when its registry has it."""
    from panel.runtime.images import registry_digest

    if registry_digest(image) is None:
        return (
            f"The backup's image {image} is not in this Hearth's registry; publish that "
            "release of the app here first (or sync the store that has it)."
        )
    return ""


def create_app_from_snapshot(
    configuration: dict,
    *,
    backup: Backup,
    subdomain: str,
    domain: Domain | None,
    kind: str,
    host_ports: dict[str, object] | None = None,
    user=None,
) -> AppInstance:
    """The new app (pending_install) and its CLONE/IMPORT task, in one transaction.

    Field errors (location, image, host ports) come back as ActionRejected before anything is
    made. Without `host_ports` the app asks for the ports its snapshot had, or the next free
    ones when those are taken (a clone beside its source).
    """
    from panel.domains.ports import check_host_ports, suggested_host_ports

    subdomain = (subdomain or "").strip().lower()
    errors = check_location(subdomain, domain)
    manifest = configuration["manifest"]
    if host_ports is None:
        host_ports = configuration.get("host_ports") or {}
        _, taken = check_host_ports(manifest, host_ports)
        if taken:
            host_ports = suggested_host_ports(manifest)
    chosen_ports, port_errors = check_host_ports(manifest, host_ports)
    errors.update(port_errors)
    if errors:
        raise ActionRejected(errors)
    problem = image_problem(configuration["image"])
    if problem:
        raise ActionRejected({"backup": problem})
    app_id = take_spare_app_id()
    try:
        with transaction.atomic():
            app = AppInstance.objects.create(
                id=app_id or uuid.uuid4(),
                store_app_id=configuration["store_app_id"],
                title=configuration["title"],
                version=configuration["version"],
                manifest=configuration["manifest"],
                image=configuration["image"],
                subdomain=subdomain,
                domain=domain,
                memory_limit=configuration["memory_limit"],
                env_overrides=configuration.get("env_overrides") or {},
                host_ports=chosen_ports,
                state=AppState.PENDING_INSTALL,
            )
            _copy_access(app, configuration.get("access") or {}, user)
            task = Task.objects.create(
                kind=kind,
                app=app,
                app_label=str(app),
                requested_by=user if user is not None and user.is_authenticated else None,
                params={"backup": backup.pk},
            )
            record_event(
                f"{kind}_requested",
                app=app,
                actor=user,
                message=f"from {backup.app_label}, snapshot {backup.snapshot_id[:8]} "
                f"({configuration['version']})",
            )
            enqueue_task(task)
    except IntegrityError:
        if app_id is not None:
            return_spare_app_id(app_id)
        # Another request took the location between the check and the insert.
        raise ActionRejected(
            {"subdomain": f"{subdomain}.{domain.name} is already used by another app."}
        ) from None
    return app


def _copy_access(app: AppInstance, access: dict, user) -> None:
    """Who may sign in, as the snapshot says, matched by name to this Hearth's people."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from panel.accounts.models import AppAccess
    from panel.accounts.services import set_app_access

    mode = access.get("mode") or AppAccess.Mode.EVERYONE
    if mode == AppAccess.Mode.EVERYONE and not access.get("users") and not access.get("groups"):
        return
    users = get_user_model().objects.filter(username__in=access.get("users") or [])
    groups = Group.objects.filter(name__in=access.get("groups") or [])
    set_app_access(app, mode=mode, users=users, groups=groups, actor=user)


def request_clone(
    backup: Backup,
    *,
    subdomain: str,
    domain: Domain | None,
    host_ports: dict[str, object] | None = None,
    user=None,
) -> AppInstance:
    """Queue a clone of `backup` into a new app at subdomain.domain (see module docstring)."""
    subdomain = (subdomain or "").strip().lower()
    errors = check_location(subdomain, domain)
    if errors:  # before reading the repository: a typo should not wait for restic
        raise ActionRejected(errors)
    try:
        configuration = read_configuration(Restic(backup.target.repository()), backup.snapshot_id)
    except ResticError as exc:
        raise ActionRejected({"backup": f"cannot read this backup: {exc}"}) from None
    return create_app_from_snapshot(
        configuration,
        backup=backup,
        subdomain=subdomain,
        domain=domain,
        kind=Task.Kind.CLONE,
        host_ports=host_ports,
        user=user,
    )


class _ScaledProgress:
    """Maps a step's 0-100 into one part of the task's bar, so the install, the data and the
    restart read as one progress instead of three that each run to 95%."""

    def __init__(self, progress, low: int, high: int) -> None:
        self.progress = progress
        self.task = progress.task
        self.low, self.high = low, high

    def step(self, percent: int, message: str) -> None:
        self.progress.step(self.low + (self.high - self.low) * percent // 100, message)

    def checkpoint(self) -> None:
        checkpoint = getattr(self.progress, "checkpoint", None)
        if checkpoint is not None:
            checkpoint()


def clone_into(app: AppInstance, progress) -> AppState:
    """The worker's CLONE and IMPORT: install the new app, then give it the snapshot's data."""
    from panel.core.operations import install, start

    backup = Backup.objects.select_related("target").get(pk=progress.task.params["backup"])
    install(app, _ScaledProgress(progress, 0, 70))
    progress.step(72, f"Reading snapshot {backup.snapshot_id[:8]} of {backup.app_label}")
    container = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    # The app must not write while its data is replaced under it.
    get_runtime().stop_container(container)
    progress.step(76, "Loading the snapshot's data and addon dumps into the new app")
    restore_data(app, backup)
    start(app, _ScaledProgress(progress, 85, 100))
    return AppState.RUNNING
