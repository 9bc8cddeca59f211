"""The store over HTTP: the signed index a panel serves, and the sync that reads one.

One Hearth can be another's store: `/api/v1/store/index.json` lists every app with its
signed releases, and the whole document is signed too (it carries titles and icons that the
release signatures do not cover). A sync fetches that document, checks everything before
writing anything, then updates the local catalog in one transaction, so a store that does not
answer or serves one bad signature changes nothing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from apps_store.manifest import ManifestError, validate_manifest
from apps_store.models import Release, StoreApp, StoreSource
from apps_store.services import (
    release_sort_key,
    store_public_key,
    store_signing_key,
    trusted_keys,
)
from apps_store.signing import (
    SignatureProblem,
    format_published_at,
    release_document,
    sign_document,
    verify_document,
)
from apps_store.updates import check_for_updates

log = logging.getLogger(__name__)

INDEX_FORMAT = "hearth-store/1"
INDEX_PATH = "/api/v1/store/index.json"
MAX_INDEX_BYTES = 64 * 1024 * 1024
# An icon is shown at 64 pixels; 256 KiB of base64 is plenty and keeps the catalog small.
MAX_ICON_CHARS = 256 * 1024

_TEXT = {"type": "string"}
INDEX_SCHEMA = {
    "type": "object",
    "required": ["format", "publicKey", "generatedAt", "apps", "signature"],
    "properties": {
        "format": {"const": INDEX_FORMAT},
        "publicKey": _TEXT,
        "generatedAt": _TEXT,
        "signature": _TEXT,
        "apps": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "title", "releases"],
                "properties": {
                    "id": _TEXT,
                    "title": _TEXT,
                    "tagline": _TEXT,
                    "description": _TEXT,
                    "tags": {"type": "array", "items": _TEXT},
                    # Only images as data: URLs; the page shows them in <img>, never as links.
                    "icon": {
                        "type": "string",
                        "pattern": r"^(data:image/[a-z0-9.+-]+;base64,|$)",
                        "maxLength": MAX_ICON_CHARS,
                    },
                    "releases": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": [
                                "version",
                                "manifest",
                                "image",
                                "digest",
                                "changelog",
                                "publishedAt",
                                "signature",
                                "signingKey",
                            ],
                            "properties": {
                                "version": _TEXT,
                                "manifest": {"type": "object"},
                                "image": _TEXT,
                                "digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
                                "changelog": _TEXT,
                                "publishedAt": {"type": "string", "format": "date-time"},
                                "signature": _TEXT,
                                "signingKey": _TEXT,
                            },
                        },
                    },
                },
            },
        },
    },
}
_INDEX_VALIDATOR = Draft202012Validator(INDEX_SCHEMA)


class StoreSyncError(Exception):
    """The store could not be synced; nothing in the local catalog changed."""


@dataclass(frozen=True)
class SyncReport:
    url: str
    apps: int
    releases: int
    new_releases: int
    updated_releases: int

    def __str__(self) -> str:
        return (
            f"{self.url}: {self.apps} apps, {self.releases} releases "
            f"({self.new_releases} new, {self.updated_releases} updated)"
        )


# Serving --------------------------------------------------------------------------------
def build_store_index() -> dict:
    """The signed index of every app in the catalog with its signed releases."""
    releases = Release.objects.exclude(signature="").order_by("-sort_key")
    store_apps = StoreApp.objects.prefetch_related(Prefetch("releases", queryset=releases))
    apps = []
    for store_app in store_apps:
        entries = [
            {
                "version": release.version,
                "manifest": release.manifest,
                "image": release.image,
                "digest": release.image_digest,
                "changelog": release.changelog,
                "publishedAt": format_published_at(release.published_at),
                "signature": release.signature,
                "signingKey": release.signing_key,
            }
            for release in store_app.releases.all()
        ]
        if entries:
            apps.append(
                {
                    "id": store_app.app_id,
                    "title": store_app.title,
                    "tagline": store_app.tagline,
                    "description": store_app.description,
                    "tags": list(store_app.tags),
                    "icon": store_app.icon,
                    "releases": entries,
                }
            )
    index = {
        "format": INDEX_FORMAT,
        "publicKey": store_public_key(),
        "generatedAt": format_published_at(timezone.now()),
        "apps": apps,
    }
    index["signature"] = sign_document(store_signing_key(), index)
    return index


# Reading --------------------------------------------------------------------------------
def index_url(store_url: str) -> str:
    return store_url.rstrip("/") + INDEX_PATH


def fetch_store_index(store_url: str) -> dict:
    url = index_url(store_url)
    timeout = settings.HEARTH_STORE_SYNC_TIMEOUT
    try:
        response = requests.get(url, timeout=timeout, stream=True)
    except requests.Timeout:
        raise StoreSyncError(
            f"the store at {store_url} did not answer: no reply within {timeout} s"
        ) from None
    except requests.RequestException as exc:
        raise StoreSyncError(
            f"the store at {store_url} did not answer: {_network_reason(exc)}"
        ) from None
    with response:
        if response.status_code != 200:
            raise StoreSyncError(
                f"the store at {store_url} answered HTTP {response.status_code} for {url}"
            )
        body = response.raw.read(MAX_INDEX_BYTES + 1, decode_content=True)
    if len(body) > MAX_INDEX_BYTES:
        raise StoreSyncError(f"the index at {url} is larger than {MAX_INDEX_BYTES} bytes")
    try:
        return json.loads(body)
    except ValueError:
        raise StoreSyncError(f"{url} is not a Hearth store index (not JSON)") from None


def _network_reason(exc: requests.RequestException) -> str:
    """The last words of urllib3's nested message: "[Errno 111] Connection refused"."""
    reason = exc.args[0] if exc.args else exc
    reason = getattr(reason, "reason", reason)
    text = str(reason).rsplit(": ", 1)[-1].rstrip("\"'")
    # Drop the closing brackets of the outer messages that the split cut off.
    while text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1].rstrip("\"'")
    return text


def _release_document(app_id: str, entry: dict) -> dict:
    return release_document(
        app_id=app_id,
        version=entry["version"],
        manifest=entry["manifest"],
        image=entry["image"],
        digest=entry["digest"],
        changelog=entry["changelog"],
        published_at=datetime.fromisoformat(entry["publishedAt"]),
    )


def verify_store_index(index: object, store_url: str) -> None:
    """Raise StoreSyncError naming the first thing in the index that cannot be trusted."""
    error = best_match(_INDEX_VALIDATOR.iter_errors(index))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        raise StoreSyncError(
            f"{store_url} did not serve a valid store index: at {where}: {error.message[:200]}"
        )
    trusted = trusted_keys()
    unsigned = {key: value for key, value in index.items() if key != "signature"}
    try:
        verify_document(unsigned, index["signature"], index["publicKey"], trusted)
    except SignatureProblem as exc:
        raise StoreSyncError(f"the index of {store_url} cannot be trusted: {exc}") from None
    for app in index["apps"]:
        for entry in app["releases"]:
            label = f"{app['id']}@{entry['version']}"
            try:
                verify_document(
                    _release_document(app["id"], entry),
                    entry["signature"],
                    entry["signingKey"],
                    trusted,
                )
            except SignatureProblem as exc:
                raise StoreSyncError(
                    f"release {label} from {store_url} cannot be trusted: {exc}"
                ) from None
            try:
                manifest = validate_manifest(entry["manifest"])
            except ManifestError as exc:
                raise StoreSyncError(
                    f"release {label} from {store_url} has an invalid manifest: {exc}"
                ) from None
            if manifest.id != app["id"] or manifest.version != entry["version"]:
                raise StoreSyncError(
                    f"release {label} from {store_url} carries the manifest of "
                    f"{manifest.id}@{manifest.version}"
                )


def _record_failure(store_url: str, message: str) -> None:
    StoreSource.objects.update_or_create(
        url=store_url, defaults={"last_attempt_at": timezone.now(), "last_error": message}
    )


def sync_store(store_url: str) -> SyncReport:
    """Bring the store's apps and releases into the local catalog, or change nothing."""
    try:
        index = fetch_store_index(store_url)
        verify_store_index(index, store_url)
    except StoreSyncError as exc:
        _record_failure(store_url, str(exc))
        raise
    source = StoreSource.objects.filter(url=store_url).first()
    if source is not None and source.public_key and source.public_key != index["publicKey"]:
        message = (
            f"the store at {store_url} now signs with a different key than at its last sync; "
            "if that is expected, remove the store and add it again"
        )
        _record_failure(store_url, message)
        raise StoreSyncError(message)
    report = _write_index(index, store_url)
    StoreSource.objects.update_or_create(
        url=store_url,
        defaults={
            "public_key": index["publicKey"],
            "last_attempt_at": timezone.now(),
            "last_synced_at": timezone.now(),
            "last_error": "",
            "app_count": report.apps,
            "release_count": report.releases,
        },
    )
    return report


@transaction.atomic
def _write_index(index: dict, store_url: str) -> SyncReport:
    """Upsert in bulk: a store of hundreds of releases syncs in a handful of queries."""
    app_ids = [app["id"] for app in index["apps"]]
    existing_apps = {a.app_id: a for a in StoreApp.objects.filter(app_id__in=app_ids)}
    new_apps, changed_apps = [], []
    for app in index["apps"]:
        values = {
            "title": app["title"],
            "tagline": app.get("tagline", ""),
            "description": app.get("description", ""),
            "tags": app.get("tags", []),
            "icon": app.get("icon", ""),
        }
        store_app = existing_apps.get(app["id"])
        if store_app is None:
            new_apps.append(StoreApp(app_id=app["id"], source=store_url, **values))
        elif store_app.source == store_url:
            # An app another store (or this Hearth) published first keeps its own texts.
            for field, value in values.items():
                setattr(store_app, field, value)
            store_app.updated_at = timezone.now()  # bulk_update skips auto_now
            changed_apps.append(store_app)
    StoreApp.objects.bulk_create(new_apps)
    if changed_apps:
        StoreApp.objects.bulk_update(
            changed_apps, ["title", "tagline", "description", "tags", "icon", "updated_at"]
        )
    store_apps = {a.app_id: a for a in StoreApp.objects.filter(app_id__in=app_ids)}

    existing_releases = {
        (r.store_app_id, r.version): r
        for r in Release.objects.filter(store_app__app_id__in=app_ids)
    }
    new_releases, changed_releases, count = [], [], 0
    fields = ["sort_key", "manifest", "image", "image_digest", "changelog"]
    fields += ["published_at", "signature", "signing_key"]
    for app in index["apps"]:
        store_app = store_apps[app["id"]]
        for entry in app["releases"]:
            count += 1
            values = {
                "sort_key": release_sort_key(entry["version"]),
                "manifest": entry["manifest"],
                "image": entry["image"],
                "image_digest": entry["digest"],
                "changelog": entry["changelog"],
                "published_at": datetime.fromisoformat(entry["publishedAt"]),
                "signature": entry["signature"],
                "signing_key": entry["signingKey"],
            }
            release = existing_releases.get((store_app.pk, entry["version"]))
            if release is None:
                new_releases.append(
                    Release(store_app=store_app, version=entry["version"], **values)
                )
            elif release.signature != entry["signature"] and store_app.source == store_url:
                for field, value in values.items():
                    setattr(release, field, value)
                changed_releases.append(release)
    Release.objects.bulk_create(new_releases)
    if changed_releases:
        Release.objects.bulk_update(changed_releases, fields)
    return SyncReport(
        url=store_url,
        apps=len(index["apps"]),
        releases=count,
        new_releases=len(new_releases),
        updated_releases=len(changed_releases),
    )


def sync_stores(urls: list[str] | None = None) -> tuple[list[SyncReport], list[str]]:
    """Sync every configured store (one failing does not stop the others), then look for
    updates of installed apps. Returns the reports and the error messages."""
    reports, errors = [], []
    for url in urls if urls is not None else settings.HEARTH_STORE_URLS:
        try:
            reports.append(sync_store(url))
        except StoreSyncError as exc:
            log.warning("store sync failed: %s", exc)
            errors.append(str(exc))
    check_for_updates()
    return reports, errors
