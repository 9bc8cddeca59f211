"""Publishing packages into the local catalog, signing releases, and deciding which ones
may be installed."""

from __future__ import annotations

import base64
import mimetypes
from functools import cache
from pathlib import Path

import semver
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps_store.manifest import Manifest, load_manifest
from apps_store.models import Release, StoreApp
from apps_store.signing import (
    SignatureProblem,
    load_or_create_private_key,
    public_key_text,
    release_document,
    sign_document,
    verify_document,
)
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


def build_package_image(package_dir: Path) -> tuple[Manifest, str]:
    """Build the package's image FROM the base image, locally: (manifest, tag)."""
    manifest = load_manifest(package_dir)
    base, _ = ensure_base_image(get_runtime().client, settings.HEARTH_REGISTRY)
    tag = image_tag(manifest)
    build_image(str(package_dir), tag, {"BASE_IMAGE": base})
    return manifest, tag


def build_package(package_dir: Path) -> tuple[Manifest, str, str]:
    """Build the package's image FROM the base image and push it: (manifest, tag, digest)."""
    manifest, tag = build_package_image(package_dir)
    return manifest, tag, push_image(tag)


# Signing --------------------------------------------------------------------------------
@cache
def _signing_key(path: str) -> Ed25519PrivateKey:
    return load_or_create_private_key(path)


def store_signing_key() -> Ed25519PrivateKey:
    """This Hearth's store key (made on first use under HEARTH_HOME, mode 0600)."""
    return _signing_key(str(settings.HEARTH_STORE_SIGNING_KEY_PATH))


def store_public_key() -> str:
    return public_key_text(store_signing_key())


def trusted_keys() -> set[str]:
    """Keys whose releases may be installed: this Hearth's own and the configured ones."""
    return {store_public_key(), *settings.HEARTH_STORE_TRUSTED_KEYS}


def signed_release_document(release: Release) -> dict:
    return release_document(
        app_id=release.store_app.app_id,
        version=release.version,
        manifest=release.manifest,
        image=release.image,
        digest=release.image_digest,
        changelog=release.changelog,
        published_at=release.published_at,
    )


def sign_release(release: Release) -> None:
    """Fill in the release's signature with this Hearth's key (the caller saves)."""
    # Whole seconds: the signed text of the date must survive every database unchanged.
    release.published_at = release.published_at.replace(microsecond=0)
    release.signing_key = store_public_key()
    release.signature = sign_document(store_signing_key(), signed_release_document(release))


@transaction.atomic
def record_release(package_dir: Path, manifest: Manifest, tag: str, digest: str) -> Release:
    """List a built and pushed image in the local catalog as a release signed here."""
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
    release = Release.objects.filter(store_app=store_app, version=manifest.version).first()
    release = release or Release(store_app=store_app, version=manifest.version)
    release.sort_key = release_sort_key(manifest.version)
    release.manifest = manifest.data
    release.image = tag
    release.image_digest = digest
    release.changelog = manifest.changelog or ""
    release.published_at = timezone.now()
    sign_release(release)
    release.save()
    return release


def release_problem(release: Release) -> str:
    """Why this release must not be installed, or "" when it may be.

    Two checks, both needed: the signature proves the store published exactly this
    manifest and digest; the registry check proves the image behind the tag is still that
    digest (a re-pushed tag would otherwise run code nobody signed).
    """
    try:
        verify_document(
            signed_release_document(release),
            release.signature,
            release.signing_key,
            trusted_keys(),
        )
    except SignatureProblem as exc:
        return f"Release {release} cannot be trusted: {exc}."
    actual = registry_digest(release.image)
    if actual is None:
        return (
            f"Release {release} cannot be installed: its image {release.image} is missing "
            "from the registry."
        )
    if actual != release.image_digest:
        return (
            f"Release {release} cannot be installed: the registry's image {release.image} is "
            f"{actual}, but the release was signed for {release.image_digest} "
            "(the image was replaced after publishing)."
        )
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
        # Signed by a trusted key and the registry still holds that digest: nothing to do.
        if not force and existing is not None and not release_problem(existing):
            results.append((existing, False))
            continue
        results.append((publish_package(package_dir), True))
    return results
