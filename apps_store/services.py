"""Publishing packages into the local catalog and reading releases out of it."""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path

import semver
from django.conf import settings
from django.db import transaction

from apps_store.manifest import Manifest, load_manifest
from apps_store.models import Release, StoreApp
from panel.runtime.base_image import ensure_base_image
from panel.runtime.containers import get_runtime
from panel.runtime.images import build_image, push_image, registry_digest

PACKAGES_DIR = Path(__file__).resolve().parent / "packages"


def release_sort_key(version: str) -> str:
    """A string that sorts like semver: 1.10.0 after 1.9.0, 1.0.0 after 1.0.0-beta."""
    parsed = semver.Version.parse(version)
    suffix = f"-{parsed.prerelease}" if parsed.prerelease else "~"
    return f"{parsed.major:06d}.{parsed.minor:06d}.{parsed.patch:06d}{suffix}"


def image_tag(manifest: Manifest, registry: str | None = None) -> str:
    return f"{registry or settings.HEARTH_REGISTRY}/hearth/apps/{manifest.id}:{manifest.version}"


def _icon_data_url(package_dir: Path, icon: str | None) -> str:
    if not icon:
        return ""
    path = package_dir / icon.removeprefix("file://")
    if not path.is_file():
        return ""
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def build_package(package_dir: Path) -> tuple[Manifest, str, str]:
    """Build the package's image FROM the base image and push it: (manifest, tag, digest)."""
    manifest = load_manifest(package_dir)
    base, _ = ensure_base_image(get_runtime().client, settings.HEARTH_REGISTRY)
    tag = image_tag(manifest)
    build_image(str(package_dir), tag, {"BASE_IMAGE": base})
    return manifest, tag, push_image(tag)


@transaction.atomic
def record_release(package_dir: Path, manifest: Manifest, tag: str, digest: str) -> Release:
    store_app, _ = StoreApp.objects.update_or_create(
        app_id=manifest.id,
        defaults={
            "title": manifest.title,
            "tagline": manifest.tagline or "",
            "description": manifest.description or "",
            "tags": list(manifest.tags),
            "icon": _icon_data_url(package_dir, manifest.icon),
        },
    )
    release, _ = Release.objects.update_or_create(
        store_app=store_app,
        version=manifest.version,
        defaults={
            "sort_key": release_sort_key(manifest.version),
            "manifest": manifest.data,
            "image": tag,
            "image_digest": digest,
            "changelog": manifest.changelog or "",
        },
    )
    return release


def release_problem(release: Release) -> str:
    """Why this release must not be installed, or "" when it may be.

    The App Store issue adds signature and registry digest verification here.
    """
    return ""


def publish_package(package_dir: Path) -> Release:
    manifest, tag, digest = build_package(package_dir)
    return record_release(package_dir, manifest, tag, digest)


def publish_bundled_packages(force: bool = False) -> list[tuple[Release, bool]]:
    """Make every bundled package installable; skip those whose image is already in place."""
    results = []
    for package_dir in sorted(p for p in PACKAGES_DIR.iterdir() if p.is_dir()):
        manifest = load_manifest(package_dir)
        existing = Release.objects.filter(
            store_app__app_id=manifest.id, version=manifest.version
        ).first()
        if (
            not force
            and existing is not None
            and registry_digest(existing.image) == existing.image_digest
        ):
            results.append((existing, False))
            continue
        results.append((publish_package(package_dir), True))
    return results
