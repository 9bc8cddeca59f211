"""Backups of apps and their restore: what the dashboard, the API and the worker call.

A backup is a staging folder (addon dumps from addons.services, plus the app's manifest and
configuration as JSON) handed to restic, which encrypts, deduplicates and uploads it. The
staging folder has a stable path per app, so restic finds the previous snapshot as its parent
and a second backup of unchanged data only reads and uploads what changed.
"""

from __future__ import annotations

import json
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from addons.services import backup_app_addons, restore_app_addons
from panel.backups.models import Backup, BackupTarget
from panel.backups.restic import Restic, ResticError, backup_tags
from panel.backups.schedule import cron_problem, retention_problems
from panel.backups.storages import get_storage
from panel.core.events import record_event
from panel.core.models import AppInstance, Task
from panel.core.services import ActionRejected, active_task
from panel.core.states import ACTION_STATES, AppState, IllegalTransition
from panel.runtime.containers import get_runtime
from panel.runtime.spec import app_resource_names

CONFIG_FILE = "app.json"
TARGET_FIELDS = ("path", "endpoint", "region", "bucket", "prefix", "access_key", "secret_key")


class RestoreFailed(Exception):
    """A restore did not complete; `app_running` says whether the app runs as it did before."""

    def __init__(self, message: str, *, app_running: bool) -> None:
        self.app_running = app_running
        super().__init__(message)


# Targets ----------------------------------------------------------------------------------
def new_recovery_key() -> str:
    return secrets.token_urlsafe(32)


SCHEDULE_FIELDS = (
    "backup_schedule",
    "check_schedule",
    "keep_daily",
    "keep_weekly",
    "keep_monthly",
    "keep_within",
)
# What an edit may change: the repository's place is fixed (another place is another target).
EDITABLE_FIELDS = ("name", "access_key", "secret_key", "password", *SCHEDULE_FIELDS)


def schedule_problems(values: dict) -> dict[str, str]:
    """Field errors of the schedules and retention policy in `values` (the target's fields)."""
    errors = {}
    for field in ("backup_schedule", "check_schedule"):
        problem = cron_problem(values[field])
        if problem:
            errors[field] = problem
    errors.update(
        retention_problems(
            values["keep_daily"],
            values["keep_weekly"],
            values["keep_monthly"],
            values["keep_within"],
        )
    )
    return errors


def _schedule_values(fields: dict) -> dict:
    """The schedule fields given, the model's defaults for those not given."""
    values = {}
    for name in SCHEDULE_FIELDS:
        value = fields.get(name)
        if value is None or value == "" and name != "keep_within":
            value = BackupTarget._meta.get_field(name).get_default()
        values[name] = value.strip() if isinstance(value, str) else value
    return values


def create_target(*, name: str, kind: str, password: str = "", **fields) -> BackupTarget:
    """Check the storage, open or create its restic repository, then save the target.

    With no password a new recovery key is made (the caller shows it once). With one, an
    existing repository there must open with it. Nothing is saved unless every step worked;
    problems come back as field errors (ActionRejected).
    """
    name = (name or "").strip()
    if not name:
        raise ActionRejected({"name": "Give the target a name."})
    if BackupTarget.objects.filter(name=name).exists():
        raise ActionRejected({"name": f"There is already a target named {name}."})
    try:
        storage = get_storage(kind)
    except LookupError:
        raise ActionRejected({"kind": f"Unknown kind of target {kind!r}."}) from None
    schedule = _schedule_values(fields)
    errors = schedule_problems(schedule)
    if errors:
        raise ActionRejected(errors)
    target = BackupTarget(
        name=name,
        kind=kind,
        password=password or new_recovery_key(),
        **{field: (fields.get(field) or "").strip() for field in TARGET_FIELDS},
        **schedule,
    )
    errors = storage.check(target)
    if errors:
        raise ActionRejected(errors)
    try:
        Restic(target.repository(), timeout=120).ensure_initialised()
    except ResticError as exc:
        field = "password" if exc.wrong_password else ("path" if kind == "filesystem" else "bucket")
        raise ActionRejected({field: f"restic: {exc}"}) from None
    try:
        target.save()
    except IntegrityError:
        raise ActionRejected({"name": f"There is already a target named {name}."}) from None
    return target


def update_target(target: BackupTarget, user=None, **changes) -> BackupTarget:
    """Change a target's name, schedules, retention or S3 keys, checked again before saving.

    An empty secret key keeps the stored one (the form never shows it). New keys must still
    write, list and delete there and open the repository; otherwise nothing changes.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ActionRejected({sorted(unknown)[0]: "This field cannot be changed on a target."})
    edited = BackupTarget.objects.get(pk=target.pk)
    name = (changes.get("name", edited.name) or "").strip()
    if not name:
        raise ActionRejected({"name": "Give the target a name."})
    if BackupTarget.objects.filter(name=name).exclude(pk=target.pk).exists():
        raise ActionRejected({"name": f"There is already a target named {name}."})
    edited.name = name
    schedule = _schedule_values(
        {field: changes.get(field, getattr(edited, field)) for field in SCHEDULE_FIELDS}
    )
    errors = schedule_problems(schedule)
    if errors:
        raise ActionRejected(errors)
    for field, value in schedule.items():
        setattr(edited, field, value)
    keys_changed = False
    # The recovery key again (after the key file under HEARTH_HOME was lost, say): it must
    # open the repository that is there.
    password = (changes.get("password") or "").strip()
    if password and password != edited.password:
        edited.password, keys_changed = password, True
    if edited.kind == BackupTarget.Kind.S3:
        access_key = (changes.get("access_key") or "").strip()
        secret_key = (changes.get("secret_key") or "").strip()
        if access_key and access_key != edited.access_key:
            edited.access_key, keys_changed = access_key, True
        if secret_key and secret_key != edited.secret_key:
            edited.secret_key, keys_changed = secret_key, True
    if keys_changed:
        errors = edited.storage.check(edited)
        if errors:
            raise ActionRejected(errors)
        try:
            if not Restic(edited.repository(), timeout=120).exists():
                field = "path" if edited.kind == BackupTarget.Kind.FILESYSTEM else "bucket"
                raise ActionRejected(
                    {field: f"There is no restic repository at {edited.location} any more."}
                )
        except ResticError as exc:
            field = "password" if exc.wrong_password else "access_key"
            raise ActionRejected({field: f"restic: {exc}"}) from None
    try:
        edited.save()
    except IntegrityError:
        raise ActionRejected({"name": f"There is already a target named {name}."}) from None
    record_event(
        "backup_target_changed",
        actor=user,
        message=f"{target.name}"
        + (f" → {name}" if name != target.name else "")
        + (" (new keys)" if keys_changed else ""),
        app_label=f"backup target {name}",
    )
    return edited


def remove_target(target: BackupTarget, user=None, *, confirmed: bool = False) -> int:
    """Forget a target in Hearth: its row and its backups' rows. Returns how many backups.

    The repository and every snapshot in it stay where they are (an import can read them
    with the recovery key). While apps' backups are listed under it, the owner must confirm.
    """
    backups = Backup.objects.filter(target=target)
    count = backups.count()
    backup_ids = set(backups.values_list("pk", flat=True))
    # Backups and restores name it; clones read one of its snapshots; an update takes its
    # pre-update backup there and may need it to roll back.
    in_use = [
        f"{task.app_label} ({task.kind})"
        for task in Task.objects.filter(state__in=(Task.State.QUEUED, Task.State.RUNNING))
        if task.params.get("target") == target.pk
        or task.params.get("backup") in backup_ids
        or task.kind == Task.Kind.UPDATE
    ]
    if in_use:
        raise ActionRejected(
            {"confirm": f"{target.name} is in use by {', '.join(in_use)}; wait until it is done."}
        )
    if count and not confirmed:
        apps = sorted(set(backups.values_list("app_label", flat=True)))
        raise ActionRejected(
            {
                "confirm": f"{count} backup(s) of {', '.join(apps)} are in {target.name}. "
                "Tick the confirmation to remove the target anyway: Hearth forgets them, but "
                "their data stays in the repository."
            }
        )
    name, location = target.name, target.location
    target.delete()
    record_event(
        "backup_target_removed",
        actor=user,
        message=f"{name} ({location}); {count} backup(s) forgotten, the repository kept",
        app_label=f"backup target {name}",
    )
    return count


# Backup -----------------------------------------------------------------------------------
def staging_folder(app: AppInstance) -> Path:
    # Stable per app on purpose: restic picks the parent snapshot by host and path.
    return Path(settings.HEARTH_HOME) / "backups" / "staging" / app.id.hex


def app_configuration(app: AppInstance) -> dict:
    """What it takes to set the app up again elsewhere, besides its data (app.json)."""
    from panel.accounts.models import AppAccess

    access = AppAccess.objects.filter(app=app).first()
    return {
        "id": app.id.hex,
        "store_app_id": app.store_app_id,
        "title": app.title,
        "version": app.version,
        "image": app.image,
        "location": {"subdomain": app.subdomain, "domain": app.domain.name},
        "aliases": [
            {"subdomain": alias.subdomain, "domain": alias.domain.name, "redirect": alias.redirect}
            for alias in app.aliases.select_related("domain").order_by("domain__name", "subdomain")
        ],
        "memory_limit": app.memory_limit,
        "env_overrides": app.env_overrides,
        "host_ports": app.host_ports,
        "auto_update": app.auto_update,
        "automatic_backups": app.automatic_backups,
        # By name, not id: users and groups are matched again on the Hearth that imports it.
        "access": {
            "mode": access.mode if access else AppAccess.Mode.EVERYONE,
            "users": sorted(access.users.values_list("username", flat=True)) if access else [],
            "groups": sorted(access.groups.values_list("name", flat=True)) if access else [],
        },
        "operators": sorted(app.operators.values_list("user__username", flat=True)),
        "manifest": app.manifest,
    }


def backup_app(
    app: AppInstance, target: BackupTarget, reason: str = Backup.Reason.MANUAL, progress=None
) -> Backup:
    """Dump the app's addons and configuration and store them as one restic snapshot."""
    staging = staging_folder(app)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        _step(progress, 15, "Dumping the app's data and addons")
        with paused_for_backup(app):
            addons = backup_app_addons(app, staging)
        (staging / CONFIG_FILE).write_text(
            json.dumps({**app_configuration(app), "addons": addons}, indent=2, sort_keys=True)
        )
        _step(progress, 50, f"Encrypting and uploading to {target.name} ({target.location})")
        # No init here: a repository gone from its place (an unmounted disk, say) must fail
        # the backup, not quietly start a new one where nobody will look for it.
        # A cancelled backup task stops restic at once (progress.checkpoint raises).
        restic = Restic(target.repository(), interrupt=progress and progress.checkpoint)
        summary = restic.backup(
            staging, backup_tags(app.id.hex, app.version, reason), host=settings.HEARTH_INSTANCE
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    try:
        _step(
            progress,
            95,
            f"Snapshot {summary.snapshot_id}: {summary.total_bytes_processed} bytes, "
            f"{summary.data_added} new",
        )
    except Exception:
        # Cancelled just as restic finished: the snapshot goes too, so nothing is left.
        Restic(target.repository()).forget_snapshots([summary.snapshot_id])
        raise
    return Backup.objects.create(
        app=app,
        app_label=str(app),
        app_uid=app.id.hex,
        target=target,
        snapshot_id=summary.snapshot_id,
        app_version=app.version,
        reason=reason,
        size=summary.total_bytes_processed,
        data_added=summary.data_added,
    )


def pauses_for_backup(app: AppInstance) -> bool:
    """The manifest's `"backup": {"pause": true}`: files must not change while copied."""
    return bool((app.manifest.get("backup") or {}).get("pause"))


@contextmanager
def paused_for_backup(app: AppInstance):
    """Pause the app's running container for the copy if its manifest asks; always unpause.

    Paused, not stopped: its processes keep their state and connections, they just get no
    CPU until the copy is done, so what is copied is one consistent moment.
    """
    runtime = get_runtime()
    container = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    paused = False
    if pauses_for_backup(app) and runtime.container_status(container).status == "running":
        runtime.pause_container(container)
        paused = True
    try:
        yield paused
    finally:
        if paused:
            runtime.unpause_container(container)


def _step(progress, percent: int, message: str) -> None:
    if progress is not None:
        progress.step(percent, message)


# Restore ----------------------------------------------------------------------------------
def _fetch_snapshot(backup: Backup, into: Path) -> None:
    """Read the backup's snapshot into `into`; raise with restic's reason if it cannot."""
    restic = Restic(backup.target.repository())
    snapshot = restic.snapshot(backup.snapshot_id)
    if snapshot.tag("app") != backup.app_uid:
        raise ResticError(f"snapshot {backup.snapshot_id} is not a backup of this app")
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    restic.restore(backup.snapshot_id, into)
    if not (into / CONFIG_FILE).is_file():
        raise ResticError(f"snapshot {backup.snapshot_id} holds no Hearth app backup")


def _put_back(app: AppInstance, folder: Path, progress) -> None:
    from panel.core.operations import start

    runtime = get_runtime()
    container = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    # The app must not write while its data is replaced under it.
    if runtime.container_status(container).exists:
        runtime.stop_container(container)
    restore_app_addons(app, folder)
    if restore_configuration(app, folder):
        # Environment only reaches a new container; start() makes one from the app's row.
        runtime.remove_container(container)
    start(app, progress)


def restore_configuration(app: AppInstance, folder: Path) -> bool:
    """Put the backup's env overrides back on the app; True when they differ from now.

    Older backups hold no env_overrides: the app's current ones stay.
    """
    config = json.loads((folder / CONFIG_FILE).read_text())
    overrides = config.get("env_overrides")
    if not isinstance(overrides, dict) or overrides == (app.env_overrides or {}):
        return False
    app.env_overrides = overrides
    app.save(update_fields=["env_overrides", "updated_at"])
    return True


def restore_data(app: AppInstance, backup: Backup) -> None:
    """Put the backup's data back under a stopped app (the caller stops and starts it)."""
    work = Path(settings.HEARTH_HOME) / "backups" / "restore" / f"{app.id.hex}-data"
    try:
        _fetch_snapshot(backup, work)
        restore_app_addons(app, work)
        restore_configuration(app, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def restore_app(app: AppInstance, backup: Backup, progress=None) -> None:
    """Replace the app's data with the backup's, then start it and wait for its health check.

    Everything that can fail without touching the app (opening the repository, reading the
    snapshot, a safety backup of the current state) happens first. If putting the data back
    or starting fails, the safety backup is restored the same way.
    """
    work = Path(settings.HEARTH_HOME) / "backups" / "restore" / app.id.hex
    try:
        _step(progress, 10, f"Reading snapshot {backup.snapshot_id[:8]} from {backup.target}")
        try:
            _fetch_snapshot(backup, work / "wanted")
        except ResticError as exc:
            raise RestoreFailed(f"nothing was restored: {exc}", app_running=True) from None
        _step(progress, 30, "Backing up the current state first (pre-restore)")
        try:
            safety = backup_app(app, backup.target, Backup.Reason.PRE_RESTORE)
        except Exception as exc:  # noqa: BLE001 - no safety net, so nothing is touched
            raise RestoreFailed(
                f"nothing was restored: the pre-restore backup failed: {exc}", app_running=True
            ) from None
        _step(progress, 50, "Stopping the app and putting the backup's data in place")
        try:
            _put_back(app, work / "wanted", progress)
        except Exception as exc:  # noqa: BLE001 - any failure here is undone below
            reason = str(exc) or type(exc).__name__
            _step(progress, 80, f"Restore failed ({reason}); putting the previous state back")
            try:
                _fetch_snapshot(safety, work / "safety")
                _put_back(app, work / "safety", progress)
            except Exception as undo:  # noqa: BLE001
                raise RestoreFailed(
                    f"restore failed: {reason}; putting back the pre-restore backup "
                    f"{safety.snapshot_id[:8]} failed too: {undo}",
                    app_running=False,
                ) from None
            raise RestoreFailed(
                f"restore failed: {reason}; the app runs as before the restore",
                app_running=True,
            ) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


# Retention and integrity ------------------------------------------------------------------
def prune_app_backups(
    app_uid: str,
    target: BackupTarget,
    *,
    keep_daily: int = 0,
    keep_weekly: int = 0,
    keep_monthly: int = 0,
    keep_within: str = "",
) -> int:
    """Forget and prune the app's snapshots outside the policy; drop their rows too.

    Returns how many backups went. restic decides (it knows the snapshot times); the rows
    follow, matched by the id prefix Hearth stored.
    """
    removed = Restic(target.repository()).forget(
        [f"app:{app_uid}"],
        keep_daily=keep_daily,
        keep_weekly=keep_weekly,
        keep_monthly=keep_monthly,
        keep_within=keep_within,
    )
    gone = [
        backup.pk
        for backup in Backup.objects.filter(target=target, app_uid=app_uid)
        if any(snapshot.startswith(backup.snapshot_id) for snapshot in removed)
    ]
    Backup.objects.filter(pk__in=gone).delete()
    return len(removed)


def delete_backup(backup: Backup) -> None:
    """Remove the snapshot from its repository (and the data only it used), then the row."""
    Restic(backup.target.repository()).forget_snapshots([backup.snapshot_id])
    backup.delete()


def check_target(target: BackupTarget) -> str:
    """`restic check` of the target's repository: empty when sound, else what is wrong."""
    try:
        Restic(target.repository()).check()
    except ResticError as exc:
        return str(exc)
    return ""


def set_automatic_backups(app: AppInstance, enabled: bool, user=None) -> bool:
    """Include the app in its targets' scheduled backups, or leave it out. True if changed."""
    changed = (
        AppInstance.objects.filter(pk=app.pk)
        .exclude(automatic_backups=enabled)
        .update(automatic_backups=enabled)
    )
    app.automatic_backups = enabled
    if changed:
        record_event(
            "automatic_backups",
            app=app,
            actor=user,
            message="turned on" if enabled else "turned off: left out of scheduled backups",
        )
    return bool(changed)


# Requests ---------------------------------------------------------------------------------
def _enqueue(task: Task) -> None:
    from panel.backups.tasks import run_backup_task

    transaction.on_commit(lambda: run_backup_task.delay(task.id))


def _refuse_if_busy(app: AppInstance) -> None:
    active = active_task(app)
    if active is not None:
        raise ActionRejected(
            {
                "action": f"{app.title} is busy ({active.kind} {active.state}); "
                "wait until it finishes, then try again."
            }
        )


def _user(user):
    return user if user is not None and user.is_authenticated else None


def request_backup(
    app: AppInstance, target: BackupTarget, user=None, reason: str = Backup.Reason.MANUAL
) -> Task:
    """Queue a backup. The app keeps running (and its state unchanged) while it is taken."""
    with transaction.atomic():
        app = AppInstance.objects.select_for_update().get(pk=app.pk)
        _refuse_if_busy(app)
        if app.state not in (AppState.RUNNING, AppState.STOPPED):
            raise ActionRejected(
                {"action": f"only a running or stopped app can be backed up; it is {app.state}."}
            )
        task = Task.objects.create(
            kind=Task.Kind.BACKUP,
            app=app,
            app_label=str(app),
            requested_by=_user(user),
            params={"target": target.pk, "reason": reason},
        )
        record_event("backup_requested", app=app, actor=user, message=f"to {target.name}")
        _enqueue(task)
    return task


def request_restore(app: AppInstance, backup: Backup, user=None) -> Task:
    """Queue a restore of `backup` into `app`, which goes through the restart states."""
    # An imported app's rows name the id it had on the Hearth that made them.
    if backup.app_uid != app.id.hex and backup.app_id != app.pk:
        raise ActionRejected({"backup": f"this backup is of {backup.app_label}, not {app}."})
    with transaction.atomic():
        app = AppInstance.objects.select_for_update().get(pk=app.pk)
        _refuse_if_busy(app)
        previous_state = app.state  # where cancelling the queued restore goes back to
        try:
            app.transition_to(ACTION_STATES["restart"])
        except IllegalTransition as exc:
            raise ActionRejected(
                {"action": f"cannot restore {app.title} while it is {exc.current.value}."}
            ) from None
        task = Task.objects.create(
            kind=Task.Kind.RESTORE,
            app=app,
            app_label=str(app),
            requested_by=_user(user),
            params={"backup": backup.pk, "previous_state": previous_state},
        )
        record_event(
            "restore_requested",
            app=app,
            actor=user,
            message=f"snapshot {backup.snapshot_id[:8]} of {backup.created_at:%Y-%m-%d %H:%M}",
        )
        _enqueue(task)
    return task
