"""What users ask of installed apps: install, start, stop, restart, retry, uninstall.

The dashboard and the API both call these. Each validates, moves the app's state and creates
the Task row in one transaction, and hands the work to a worker only once that commits.
"""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction

from apps_store.manifest import ManifestError, validate_manifest
from apps_store.models import Release
from apps_store.services import release_problem, release_sort_key
from panel.core.events import record_event
from panel.core.models import AppInstance, Task
from panel.core.spare_networks import return_spare_app_id, take_spare_app_id
from panel.core.states import (
    ACTION_STATES,
    AppState,
    IllegalTransition,
    cancel_return_state,
)
from panel.domains.models import AppAlias, Domain

SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


class ActionRejected(Exception):
    """The request cannot be carried out; `errors` maps form fields to what to fix."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


def reserved_subdomains() -> set[str]:
    return {settings.HEARTH_DASHBOARD_SUBDOMAIN}


def check_location(subdomain: str, domain: Domain | None) -> dict[str, str]:
    """Field errors for a location, empty when `subdomain.domain` is free to use."""
    errors: dict[str, str] = {}
    if domain is None:
        errors["domain"] = "Choose one of your domains."
    if not SUBDOMAIN_RE.match(subdomain or ""):
        errors["subdomain"] = (
            "Use 1 to 63 lower-case letters, digits and hyphens, not starting or ending with"
            " a hyphen (for example: blog)."
        )
    elif subdomain in reserved_subdomains():
        errors["subdomain"] = f"{subdomain} is reserved for the Hearth dashboard; pick another."
    elif (
        domain is not None
        and AppInstance.objects.filter(subdomain=subdomain, domain=domain).exists()
    ):
        errors["subdomain"] = f"{subdomain}.{domain.name} is already used by another app."
    elif domain is not None and len(f"{subdomain}.{domain.name}") > 253:
        errors["subdomain"] = "The full name would be longer than 253 characters."
    elif (
        domain is not None and AppAlias.objects.filter(subdomain=subdomain, domain=domain).exists()
    ):
        errors["subdomain"] = f"{subdomain}.{domain.name} is already another name of an app."
    elif domain is not None and domain.cname_target == f"{subdomain}.{domain.name}":
        # The domain's app records are CNAMEs to that name: an app there would loop.
        errors["subdomain"] = (
            f"{subdomain}.{domain.name} is where this domain's app records point; pick another."
        )
    elif domain is not None and Domain.objects.filter(name=f"{subdomain}.{domain.name}").exists():
        # That name is a domain of its own, whose apps and dashboard live under it.
        errors["subdomain"] = f"{subdomain}.{domain.name} is one of your domains; pick another."
    return errors


def enqueue_task(task: Task) -> None:
    """Hand a core task (install, clone, app actions...) to the worker once committed."""
    from panel.core.tasks import run_task

    # Only after commit: otherwise a fast worker could look for the row before it exists.
    transaction.on_commit(lambda: run_task.delay(task.id))


def install_app(
    *,
    release: Release,
    subdomain: str,
    domain: Domain | None,
    user=None,
    host_ports: dict[str, object] | None = None,
) -> AppInstance:
    """`host_ports`: {VARIABLE: port} for the manifest's tcpPorts/udpPorts; left-out ports
    get the manifest's default, and every port is checked (panel.domains.ports)."""
    from panel.domains.ports import check_host_ports

    subdomain = (subdomain or "").strip().lower()
    errors = check_location(subdomain, domain)
    try:
        manifest = validate_manifest(release.manifest)
    except ManifestError as exc:
        raise ActionRejected({"release": f"the release's manifest is invalid: {exc}"}) from None
    chosen_ports, port_errors = check_host_ports(manifest.data, host_ports)
    errors.update(port_errors)
    if errors:
        raise ActionRejected(errors)
    problem = release_problem(release)
    if problem:
        raise ActionRejected({"release": problem})
    app_id = take_spare_app_id()
    try:
        with transaction.atomic():
            app = AppInstance.objects.create(
                id=app_id or uuid.uuid4(),
                store_app_id=manifest.id,
                title=manifest.title,
                version=manifest.version,
                manifest=manifest.data,
                image=release.pinned_image,
                subdomain=subdomain,
                domain=domain,
                memory_limit=manifest.memory_limit,
                state=AppState.PENDING_INSTALL,
                host_ports=chosen_ports,
            )
            task = Task.objects.create(
                kind=Task.Kind.INSTALL, app=app, app_label=str(app), requested_by=_user(user)
            )
            record_event(
                "install_requested",
                app=app,
                actor=user,
                message=f"{manifest.title} {manifest.version}",
            )
            enqueue_task(task)
    except IntegrityError:
        if app_id is not None:
            return_spare_app_id(app_id)
        # Two installs raced for the same location; the unique constraint picked one.
        raise ActionRejected(
            {"subdomain": f"{subdomain}.{domain.name} is already used by another app."}
        ) from None
    return app


def _user(user):
    return user if user is not None and user.is_authenticated else None


def request_app_action(app: AppInstance, action: str, user=None) -> Task:
    """Queue start/stop/restart/uninstall, `retry` (re-run the install) from error, or
    `update` to the newer release the store offers for the app."""
    if action == "update":
        return update_app(app, _offered_update(app), user=user)
    if action == "retry":
        kind, params = _retried(app)
        return _queue(app, kind, action, user, params=params)
    if action not in ACTION_STATES or action == "install":
        raise ActionRejected({"action": f"unknown action {action!r}"})
    return _queue(app, action, action, user)


def _retried(app: AppInstance) -> tuple[str, dict]:
    """What a retry from error runs: the install again (which repairs what is missing), or,
    when the app came from a clone or an import that failed, that clone or import again, so
    the retried app gets the snapshot's data and not an empty start."""
    made = (
        app.tasks.filter(kind__in=[Task.Kind.INSTALL, Task.Kind.CLONE, Task.Kind.IMPORT])
        .order_by("-created_at", "-id")
        .first()
    )
    if made is not None and made.kind != Task.Kind.INSTALL and made.state == Task.State.FAILED:
        return made.kind, {"backup": made.params["backup"]}
    return Task.Kind.INSTALL, {}


def _offered_update(app: AppInstance) -> Release:
    from apps_store.models import AvailableUpdate

    offer = AvailableUpdate.objects.filter(app=app).select_related("release").first()
    if offer is None:
        raise ActionRejected({"action": f"{app.title} {app.version} is the newest release."})
    return offer.release


def update_app(app: AppInstance, release: Release, user=None) -> Task:
    """Queue an update of `app` to `release`: same store app, a newer version, trusted."""
    if release.store_app.app_id != app.store_app_id:
        raise ActionRejected({"release": f"{release} is not a release of {app.store_app_id}."})
    if release_sort_key(release.version) <= release_sort_key(app.version):
        raise ActionRejected(
            {"release": f"{release.version} is not newer than the installed {app.version}."}
        )
    try:
        validate_manifest(release.manifest)
    except ManifestError as exc:
        raise ActionRejected({"release": f"the release's manifest is invalid: {exc}"}) from None
    problem = release_problem(release)
    if problem:
        raise ActionRejected({"release": problem})
    return _queue(app, Task.Kind.UPDATE, "update", user, params={"release": release.pk})


PREVIOUS_STATE = "previous_state"


def _queue(app: AppInstance, kind: str, action: str, user, params: dict | None = None) -> Task:
    with transaction.atomic():
        app = AppInstance.objects.select_for_update().get(pk=app.pk)
        active = Task.objects.filter(
            app=app, state__in=[Task.State.QUEUED, Task.State.RUNNING]
        ).first()
        if active is not None:
            raise ActionRejected(
                {
                    "action": f"{app.title} is busy ({active.kind} {active.state}); "
                    "wait until it finishes, then try again."
                }
            )
        previous_state = app.state  # where a cancel of the queued task goes back to
        try:
            # A retry re-runs what made the app (install, clone or import) from pending_install.
            app.transition_to(ACTION_STATES["install" if action == "retry" else kind])
        except IllegalTransition as exc:
            raise ActionRejected(
                {"action": f"cannot {action} {app.title} while it is {exc.current.value}."}
            ) from None
        task = Task.objects.create(
            kind=kind,
            app=app,
            app_label=str(app),
            requested_by=_user(user),
            params={**(params or {}), PREVIOUS_STATE: previous_state},
        )
        record_event(f"{action}_requested", app=app, actor=user)
        enqueue_task(task)
    return task


CHANGE_LOCATION = "change_location"


def change_app_location(
    app: AppInstance,
    *,
    subdomain: str,
    domain: Domain | None,
    user=None,
    redirect_old: bool = False,
    redirect_days: int | None = None,
) -> Task:
    """Move an app to another subdomain and/or domain: the new location is the app's at once
    (so nothing else can take it); the worker moves DNS, certificate, nginx and the origin.

    The app goes through the restart states: its container is recreated with the new origin.
    """
    from panel.domains.models import LocationChange
    from panel.domains.services import app_hostnames, redirect_expiry

    subdomain = (subdomain or "").strip().lower()
    if domain is not None and (subdomain, domain.pk) == (app.subdomain, app.domain_id):
        raise ActionRejected({"subdomain": f"{app.title} already lives at {app.fqdn}."})
    errors = check_location(subdomain, domain)
    if errors:
        raise ActionRejected(errors)
    try:
        with transaction.atomic():
            app = AppInstance.objects.select_for_update().select_related("domain").get(pk=app.pk)
            if active_task(app) is not None:
                raise ActionRejected(
                    {"action": f"{app.title} is busy; wait until it finishes, then try again."}
                )
            if app.state != AppState.RUNNING:
                raise ActionRejected(
                    {"action": f"only a running app can move; {app.title} is {app.state}."}
                )
            app.transition_to(ACTION_STATES["restart"])
            old_subdomain, old_domain = app.subdomain, app.domain
            old_names = [[host.fqdn, host.domain.pk] for host in app_hostnames(app)]
            AppInstance.objects.filter(pk=app.pk).update(subdomain=subdomain, domain=domain)
            if redirect_old:
                # Old links keep working: the old name now redirects, for the days the
                # owner chose (panel.domains.services.expire_redirects) or until removed.
                AppAlias.objects.create(
                    app=app,
                    subdomain=old_subdomain,
                    domain=old_domain,
                    redirect=True,
                    # None: until removed by hand; else beat removes it then.
                    expires_at=redirect_expiry(redirect_days),
                )
            task = Task.objects.create(
                kind=CHANGE_LOCATION, app=app, app_label=str(app), requested_by=_user(user)
            )
            LocationChange.objects.create(
                task=task, old_subdomain=old_subdomain, old_domain=old_domain, old_names=old_names
            )
            record_event(
                "change_location_requested",
                app=app,
                actor=user,
                message=f"{old_subdomain}.{old_domain.name} → {subdomain}.{domain.name}",
            )
            enqueue_task(task)
    except IntegrityError:
        raise ActionRejected(
            {"subdomain": f"{subdomain}.{domain.name} is already used by another app."}
        ) from None
    return task


def active_task(app: AppInstance) -> Task | None:
    return app.tasks.filter(state__in=[Task.State.QUEUED, Task.State.RUNNING]).first()


# Cancel ------------------------------------------------------------------------------------
# Running tasks of these kinds stop at their next safe point; others (restore, the app
# actions) are only cancellable while queued: stopping them half-way could leave an app with
# half its data. An update is cancellable until its point of no return (params "no_return":
# the nginx switch of a rolling update, the old container's removal of a recreate one).
CANCELLABLE_WHILE_RUNNING = frozenset(
    {Task.Kind.INSTALL, Task.Kind.BACKUP, Task.Kind.CLONE, Task.Kind.IMPORT, Task.Kind.UPDATE}
)
# A move re-points DNS and nginx the moment it is requested; it has no clean way back.
NEVER_CANCELLABLE = frozenset({CHANGE_LOCATION})


def can_cancel(task: Task) -> bool:
    """Whether the dashboard offers a cancel button for this task now."""
    if task.kind in NEVER_CANCELLABLE or task.cancel_requested:
        return False
    if task.state == Task.State.QUEUED:
        return True
    return (
        task.state == Task.State.RUNNING
        and task.kind in CANCELLABLE_WHILE_RUNNING
        and not task.params.get("no_return")
    )


# Tasks that bring a new app into being; cancelled before it exists, the app goes entirely.
CREATING_KINDS = frozenset({Task.Kind.INSTALL, Task.Kind.CLONE, Task.Kind.IMPORT})


def creates_app(task: Task) -> bool:
    """A task that made its app (an install from install_app, a clone, an import), not a
    retry from error: cancelling it removes the app and everything made for it.

    Retries record the state they came from; an app with earlier tasks existed before.
    """
    return (
        task.kind in CREATING_KINDS
        and PREVIOUS_STATE not in task.params
        and task.app_id is not None
        and not Task.objects.filter(app_id=task.app_id).exclude(pk=task.pk).exists()
    )


def cancel_task(task: Task, user=None) -> Task:
    """Cancel a task: a queued one at once (the app goes back to where it was; a queued
    fresh install's app is removed), a running install, backup or clone at its next safe
    point (the worker rolls back and ends it `cancelled`)."""
    if task.kind in NEVER_CANCELLABLE:
        raise ActionRejected({"task": "moving an app to a new name cannot be cancelled."})
    with transaction.atomic():
        app = (
            AppInstance.objects.select_for_update().filter(pk=task.app_id).first()
            if task.app_id
            else None
        )
        task = Task.objects.select_for_update().get(pk=task.pk)
        if task.state == Task.State.QUEUED:
            _cancel_queued(task, app, user)
            return task
        if task.state != Task.State.RUNNING:
            raise ActionRejected({"task": f"this {task.kind} has already {task.state}."})
        if task.kind not in CANCELLABLE_WHILE_RUNNING or task.params.get("no_return"):
            raise ActionRejected(
                {"task": f"a running {task.kind} cannot be stopped safely; wait until it finishes."}
            )
        if not task.cancel_requested:
            Task.objects.filter(pk=task.pk).update(cancel_requested=True)
            task.cancel_requested = True
            record_event(
                "cancel_requested",
                app=app,
                app_label=task.app_label,
                actor=user,
                message=f"{task.kind} stops at its next safe point",
            )
    return task


def _cancel_queued(task: Task, app: AppInstance | None, user) -> None:
    from django.utils import timezone

    from panel.core.operations import push_task_update

    fresh = creates_app(task)
    task.state = Task.State.CANCELLED
    task.message = "Cancelled"
    task.finished_at = timezone.now()
    task.cancel_requested = True
    # The worker claims only QUEUED rows, so once this commits no worker will run it.
    Task.objects.filter(pk=task.pk).update(
        state=task.state,
        message=task.message,
        finished_at=task.finished_at,
        cancel_requested=True,
    )
    label = task.app_label
    if app is not None and fresh:
        app_id = app.pk
        app.delete()
        # The install had taken a ready network under this id; nothing else was made yet.
        transaction.on_commit(lambda: return_spare_app_id(app_id))
        app = None
    elif app is not None and app.state in {s.value for s in ACTION_STATES.values()}:
        back = cancel_return_state(app.state, task.params.get(PREVIOUS_STATE))
        error = app.error if back == AppState.ERROR else ""
        if back == AppState.ERROR and not error:
            error = f"The {task.kind} was cancelled; choose what to do next."
        app.transition_to(back, error=error)
    record_event(
        "cancelled",
        app=app,
        app_label=label,
        actor=user,
        message=f"{task.kind} cancelled before it started",
    )
    transaction.on_commit(lambda: push_task_update(task))
