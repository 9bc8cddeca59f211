"""Which installed apps have a newer release in the catalog ("update available")."""

from __future__ import annotations

import semver
from django.db import transaction

from apps_store.models import AvailableUpdate, Release
from apps_store.services import release_sort_key
from panel.core.models import AppInstance


def _sort_key_or_none(version: str) -> str | None:
    try:
        return release_sort_key(version)
    except ValueError:
        return None


@transaction.atomic
def check_for_updates() -> list[AvailableUpdate]:
    """Record, for every installed app, the newest release above its version (or none).

    Two queries to read, whatever the number of apps: the newest release per store app is
    picked in Python from one ordered list.
    """
    store_app_ids = set(AppInstance.objects.values_list("store_app_id", flat=True))
    newest: dict[str, Release] = {}
    releases = (
        Release.objects.filter(store_app__app_id__in=store_app_ids)
        .select_related("store_app")
        .order_by("-sort_key")
    )
    for release in releases:
        if semver.Version.parse(release.version).prerelease:
            continue  # a pre-release is offered on purpose only, never as "update available"
        newest.setdefault(release.store_app.app_id, release)
    found = []
    stale = []
    for app in AppInstance.objects.all():
        release = newest.get(app.store_app_id)
        current = _sort_key_or_none(app.version)
        if release is not None and current is not None and release.sort_key > current:
            update, _ = AvailableUpdate.objects.update_or_create(
                app=app, defaults={"release": release}
            )
            found.append(update)
        else:
            stale.append(app.pk)
    AvailableUpdate.objects.filter(app_id__in=stale).delete()
    return found


def _addon_names(manifest: dict) -> set[str]:
    return set(manifest.get("addons") or {})


def recreate_reason(old_manifest: dict, new_manifest: dict) -> str:
    """Why an update must stop the old version before starting the new one ("" when the
    two can run side by side for a moment, which is what a rolling update needs)."""
    for manifest in (old_manifest, new_manifest):
        if manifest.get("updateStrategy") == "recreate":
            return f'{manifest.get("version", "a version")} asks for updateStrategy "recreate"'
    dropped = sorted(_addon_names(old_manifest) - _addon_names(new_manifest))
    if dropped:
        return (
            f"the new version drops the {', '.join(dropped)} addon(s), "
            "which the running one still uses"
        )
    return ""
