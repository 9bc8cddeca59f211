"""The addons of an installed app: provisioned at install, handed over as env, backed up,
restored, and torn down at uninstall. Each addon's own steps live in its sub-package; this
module walks the app's manifest through the registry and keeps the AddonInstance rows.
"""

from __future__ import annotations

import logging
import shutil
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import connection

from addons.base import Addon, AddonError
from addons.models import AddonInstance
from addons.registry import all_addons, get_addon
from apps_store.manifest import validate_manifest

if TYPE_CHECKING:
    from panel.core.models import AppInstance

log = logging.getLogger(__name__)

# operations.install reports 45% before provisioning and 55% after; addons fill the gap.
PROGRESS_FIRST = 45
PROGRESS_LAST = 55


class AddonProvisioningFailed(AddonError):
    pass


def manifest_addons(manifest: dict) -> dict[str, dict]:
    """The addons a manifest asks for, with their options, in a stable order."""
    addons = validate_manifest(manifest).addons
    return {name: addons[name] for name in sorted(addons)}


def _addon(name: str) -> Addon:
    addon = get_addon(name)
    if addon is None:
        raise AddonProvisioningFailed(f'this Hearth does not provide the "{name}" addon yet')
    return addon


def provision_app_addons(app: AppInstance, progress=None) -> None:
    """Provision every addon the app's manifest lists (idempotent).

    The addons are independent, so they are provisioned side by side (a redis container
    starting while the databases are created). If one fails, whatever this call created is
    removed again before the error goes up, so a failed install leaves no database or user
    behind and the retry starts clean. Addons that were already in place are kept.
    """
    wanted = manifest_addons(app.manifest)
    # Refuse before creating anything if any addon is unknown to this Hearth.
    addons = {name: _addon(name) for name in wanted}
    if not wanted:
        return
    created: list[AddonInstance] = []
    instances: dict[str, AddonInstance] = {}
    for name, options in wanted.items():
        instance, new = AddonInstance.objects.get_or_create(
            app=app, addon=name, defaults={"options": options}
        )
        if new or instance.state != AddonInstance.State.READY:
            created.append(instance)
        if instance.options != options:
            instance.options = options
            instance.save(update_fields=["options", "updated_at"])
        instances[name] = instance

    failures: dict[str, Exception] = {}
    span = PROGRESS_LAST - PROGRESS_FIRST

    def finished(done: int, name: str, error: BaseException | None) -> None:
        if error is not None:
            failures[name] = error
        elif progress is not None:
            progress.step(PROGRESS_FIRST + span * done // len(wanted), f"Provisioned {name}")

    if connection.in_atomic_block:
        # Inside a transaction, threads (with connections of their own) would neither see its
        # rows nor get SQLite's write lock: provision one after the other here instead.
        for done, (name, instance) in enumerate(instances.items(), start=1):
            try:
                _provision_one(addons[name], app, instance)
            except Exception as exc:  # noqa: BLE001 - collected, undone and raised below
                finished(done, name, exc)
            else:
                finished(done, name, None)
    else:
        with ThreadPoolExecutor(max_workers=len(wanted), thread_name_prefix="addon") as pool:
            futures = {
                pool.submit(_provision_in_thread, addons[name], app, instance): name
                for name, instance in instances.items()
            }
            for done, future in enumerate(as_completed(futures), start=1):
                finished(done, futures[future], future.exception())
    if failures:
        _undo(app, created)
        raise AddonProvisioningFailed(
            "; ".join(f"addon {name}: {_reason(exc)}" for name, exc in sorted(failures.items()))
        ) from next(iter(failures.values()))


def _provision_one(addon: Addon, app: AppInstance, instance: AddonInstance) -> None:
    addon.provision(app, instance)
    if instance.state != AddonInstance.State.READY:
        instance.state = AddonInstance.State.READY
        instance.save(update_fields=["state", "updated_at"])


def _provision_in_thread(addon: Addon, app: AppInstance, instance: AddonInstance) -> None:
    try:
        _provision_one(addon, app, instance)
    finally:
        # Each pool thread opened its own database connection; do not leave it behind.
        connection.close()


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, AddonError) else f"{type(exc).__name__}: {exc}"


def _undo(app: AppInstance, created: list[AddonInstance]) -> None:
    for instance in reversed(created):
        try:
            _addon(instance.addon).teardown(app, instance)
        except Exception:  # noqa: BLE001 - keep the row: uninstall or retry cleans up later
            log.warning("could not undo addon %s of %s", instance.addon, app.pk, exc_info=True)
            continue
        instance.delete()


def app_addon_env(app: AppInstance) -> dict[str, str]:
    """Unprefixed variables (MYSQL_URL...) of the app's provisioned addons."""
    env: dict[str, str] = {}
    for instance in AddonInstance.objects.filter(app=app, state=AddonInstance.State.READY):
        addon = get_addon(instance.addon)
        if addon is not None:
            env.update(addon.env(app, instance))
    return env


def teardown_app_addons(app: AppInstance, progress=None) -> None:
    """Remove every addon resource of the app (databases, users, containers, volumes)."""
    for instance in AddonInstance.objects.filter(app=app).order_by("-addon"):
        _teardown(app, instance, progress)


def teardown_unlisted_addons(app: AppInstance, progress=None) -> list[str]:
    """After an update whose manifest dropped addons: remove those (take a backup first)."""
    wanted = manifest_addons(app.manifest)
    removed = []
    for instance in AddonInstance.objects.filter(app=app).exclude(addon__in=list(wanted)):
        _teardown(app, instance, progress)
        removed.append(instance.addon)
    return removed


def update_app_addons(app: AppInstance, backup_dir: Path, progress=None) -> list[str]:
    """For an update, once app.manifest is the new version's: provision the addons it adds,
    and back up, then remove, the addons it no longer lists. Returns the removed addons.

    The dropped addons' data stays in backup_dir/<addon>/, so a rollback can restore it.
    """
    wanted = manifest_addons(app.manifest)
    dropped = AddonInstance.objects.filter(app=app, state=AddonInstance.State.READY).exclude(
        addon__in=list(wanted)
    )
    for instance in dropped:
        folder = Path(backup_dir) / instance.addon
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        _addon(instance.addon).backup(app, instance, folder)
    provision_app_addons(app, progress)
    return teardown_unlisted_addons(app, progress)


def _teardown(app: AppInstance, instance: AddonInstance, progress) -> None:
    addon = get_addon(instance.addon)
    if progress is not None:
        progress.step(progress.task.percent, f"Removing addon {instance.addon}")
    if addon is not None:
        addon.teardown(app, instance)
    instance.delete()


def backup_app_addons(app: AppInstance, staging: Path) -> list[str]:
    """Dump each addon's data into staging/<addon>/; returns the addons backed up."""
    done = []
    for instance in AddonInstance.objects.filter(app=app, state=AddonInstance.State.READY):
        folder = Path(staging) / instance.addon
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        _addon(instance.addon).backup(app, instance, folder)
        done.append(instance.addon)
    return done


def restore_app_addons(app: AppInstance, staging: Path) -> list[str]:
    """Load each addon's data back from staging/<addon>/ (provisioning what is missing)."""
    provision_app_addons(app)
    done = []
    for instance in AddonInstance.objects.filter(app=app, state=AddonInstance.State.READY):
        folder = Path(staging) / instance.addon
        if not folder.is_dir():
            continue
        _addon(instance.addon).restore(app, instance, folder)
        done.append(instance.addon)
    return done


def start_addon_services() -> list[str]:
    """Start every shared service and re-attach it to the networks of the apps using it.

    Called at platform start; a re-created service container has lost its app networks.
    """
    started = []
    for addon in all_addons():
        addon.start_service()
        started.append(addon.name)
    # Safe without a migrated database too (a command run before `hearth up` ever was).
    if AddonInstance._meta.db_table not in connection.introspection.table_names():
        return started
    for instance in AddonInstance.objects.filter(state=AddonInstance.State.READY).select_related(
        "app"
    ):
        try:
            _addon(instance.addon).provision(instance.app, instance)
        except Exception:  # noqa: BLE001 - one broken app must not stop the platform
            log.warning(
                "could not re-attach addon %s of %s", instance.addon, instance.app, exc_info=True
            )
    return started
