"""Import: an app back onto a Hearth from a backup target and the recovery key alone.

The owner of a fresh Hearth names where the backups are (a folder or an S3 bucket) and gives
the recovery key. open_source() opens the restic repository there without creating
anything (no repository, or a key that does not open it, is a field error);
app_snapshots() lists the app snapshots in it, newest first, named from the configuration
each app's latest snapshot stored. request_import() then saves the target (or reuses the
one already saved for that place, so future backups go there too), records the chosen
snapshot as a Backup row, and creates the app like a clone (panel.backups.clone) with an
IMPORT task.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils.dateparse import parse_datetime

from panel.backups.clone import create_app_from_snapshot, image_problem, read_configuration
from panel.backups.models import Backup, BackupTarget
from panel.backups.restic import Restic, ResticError
from panel.backups.services import TARGET_FIELDS
from panel.backups.storages import get_storage
from panel.core.models import AppInstance, Task
from panel.core.services import ActionRejected, check_location
from panel.domains.models import Domain

# The form field the recovery key is entered in (BackupTarget.password).
KEY_FIELD = "recovery_key"


@dataclass(frozen=True)
class AppSnapshot:
    """One app snapshot found in a repository, as the import page lists it."""

    snapshot_id: str
    short_id: str
    time: str
    app_uid: str
    version: str
    reason: str
    title: str
    location: str
    image: str
    # Why this Hearth cannot run the image, or "" (see clone.image_problem).
    image_problem: str


def source_target(kind: str, recovery_key: str, **fields: str) -> BackupTarget:
    """An unsaved BackupTarget for the place the owner named, with the key as password."""
    try:
        get_storage(kind)
    except LookupError:
        raise ActionRejected({"kind": f"Unknown kind of target {kind!r}."}) from None
    return BackupTarget(
        kind=kind,
        password=(recovery_key or "").strip(),
        **{field: (fields.get(field) or "").strip() for field in TARGET_FIELDS},
    )


def open_source(kind: str, recovery_key: str, **fields: str) -> BackupTarget:
    """Check the place and open the repository there with the key; creates nothing.

    Raises ActionRejected naming the field to fix: the place's own fields (missing folder,
    bucket, keys), `recovery_key` when the key does not open the repository.
    """
    target = source_target(kind, recovery_key, **fields)
    errors = target.storage.missing_fields(target)
    if not target.password:
        errors[KEY_FIELD] = "Enter the recovery key Hearth showed when the target was added."
    if errors:
        raise ActionRejected(errors)
    place = "path" if kind == BackupTarget.Kind.FILESYSTEM else "bucket"
    if kind == BackupTarget.Kind.FILESYSTEM and not Path(target.path).is_dir():
        # Checked first: the storage check would create the folder, and an import must not
        # make anything where there are no backups.
        raise ActionRejected({"path": f"There is no folder {target.path} on this server."})
    errors = target.storage.check(target)
    if errors:
        raise ActionRejected(errors)
    try:
        found = Restic(target.repository(), timeout=120).exists()
    except ResticError as exc:
        if exc.wrong_password:
            raise ActionRejected(
                {KEY_FIELD: "This recovery key does not open the backups there."}
            ) from None
        raise ActionRejected({place: f"restic: {exc}"}) from None
    if not found:
        raise ActionRejected(
            {place: f"There are no Hearth backups at {target.location} (no restic repository)."}
        )
    return target


def app_snapshots(target: BackupTarget) -> list[AppSnapshot]:
    """The repository's app snapshots, newest first; each app's title, location and image
    come from its latest snapshot's configuration (one read per app, not per snapshot)."""
    restic = Restic(target.repository())
    snapshots = [s for s in restic.snapshots() if s.tag("app")]
    snapshots.sort(key=lambda s: s.time, reverse=True)
    described: dict[str, tuple[str, str, str, str]] = {}
    listed = []
    for snapshot in snapshots:
        uid = snapshot.tag("app") or ""
        if uid not in described:
            try:
                configuration = read_configuration(restic, snapshot.id)
            except ResticError as exc:
                described[uid] = (f"unreadable app {uid[:12]}", "", "", str(exc))
            else:
                location = configuration.get("location") or {}
                image = configuration["image"]
                described[uid] = (
                    configuration["title"],
                    f"{location.get('subdomain', '')}.{location.get('domain', '')}",
                    image,
                    image_problem(image),
                )
        title, location, image, problem = described[uid]
        listed.append(
            AppSnapshot(
                snapshot_id=snapshot.id,
                short_id=snapshot.short_id,
                time=snapshot.time,
                app_uid=uid,
                version=snapshot.tag("version") or "",
                reason=snapshot.tag("reason") or "",
                title=title,
                location=location,
                image=image,
                image_problem=problem,
            )
        )
    return listed


def _saved_target(source: BackupTarget) -> BackupTarget:
    """The target already saved for this place, or `source` saved under a free name."""
    for existing in BackupTarget.objects.filter(kind=source.kind):
        if existing.location == source.location:
            return existing
    base = f"Imported from {source.location}"[:90]
    name, number = base, 1
    while BackupTarget.objects.filter(name=name).exists():
        number += 1
        name = f"{base} ({number})"
    source.name = name
    source.save()
    return source


def request_import(
    *,
    kind: str,
    recovery_key: str,
    snapshot_id: str,
    subdomain: str,
    domain: Domain | None,
    user=None,
    **fields: str,
) -> AppInstance:
    """Create the app of `snapshot_id` at subdomain.domain with an IMPORT task.

    Every check (the repository and key, the snapshot, the location, the image) runs before
    anything is saved; then the target, the Backup row, the app and its task are saved in
    one transaction.
    """
    subdomain = (subdomain or "").strip().lower()
    source = open_source(kind, recovery_key, **fields)
    errors = check_location(subdomain, domain)
    if errors:
        raise ActionRejected(errors)
    restic = Restic(source.repository())
    try:
        snapshot = restic.snapshot(snapshot_id)
        if not snapshot.tag("app"):
            raise ResticError(f"snapshot {snapshot_id} is not a backup of a Hearth app")
        configuration = read_configuration(restic, snapshot.id)
    except ResticError as exc:
        raise ActionRejected({"snapshot": f"cannot import this snapshot: {exc}"}) from None
    problem = image_problem(configuration["image"])
    if problem:
        raise ActionRejected({"snapshot": problem})
    location = configuration.get("location") or {}
    where = f"{location.get('subdomain', '?')}.{location.get('domain', '?')}"
    label = f"{configuration['title']} at {where}"
    history = [s for s in restic.snapshots() if s.tag("app") == snapshot.tag("app")]
    with transaction.atomic():
        target = _saved_target(source)
        backup = _record_snapshot(snapshot, target, label, configuration["version"])
        app = create_app_from_snapshot(
            configuration,
            backup=backup,
            subdomain=subdomain,
            domain=domain,
            kind=Task.Kind.IMPORT,
            user=user,
        )
        # The app's earlier snapshots come with it, so it can go back to any of them.
        for earlier in history:
            if earlier.id != snapshot.id:
                _record_snapshot(earlier, target, label, "", app=app)
        Backup.objects.filter(pk=backup.pk).update(app=app)
        return app


def _record_snapshot(
    snapshot, target: BackupTarget, label: str, version: str, app: AppInstance | None = None
) -> Backup:
    """A Backup row for a snapshot found in the repository, dated when it was taken."""
    backup = Backup.objects.filter(target=target, snapshot_id=snapshot.id).first()
    if backup is None:
        backup = Backup.objects.create(
            app=app,
            app_label=label,
            app_uid=snapshot.tag("app"),
            target=target,
            snapshot_id=snapshot.id,
            app_version=snapshot.tag("version") or version,
            reason=snapshot.tag("reason") or Backup.Reason.MANUAL,
        )
    taken = parse_datetime(snapshot.time.replace("Z", "+00:00"))
    if taken is not None:
        Backup.objects.filter(pk=backup.pk).update(created_at=taken)
    return backup
