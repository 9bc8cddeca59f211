"""Checks of an app package folder before it is built. No Django, no Docker.

A package is a folder with a manifest (HearthManifest.json or CloudronManifest.json), a
Dockerfile built FROM the base image Hearth passes as the BASE_IMAGE build argument, the
icon the manifest names, and whatever the Dockerfile copies in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from apps_store.manifest import MANIFEST_FILENAMES, Manifest, ManifestError, load_manifest

_ARG_BASE = re.compile(r"^\s*ARG\s+BASE_IMAGE\b", re.IGNORECASE | re.MULTILINE)
_FROM = re.compile(r"^\s*FROM\s+(\S+)", re.IGNORECASE | re.MULTILINE)
_USER = re.compile(r"^\s*USER\s+(\S+)", re.IGNORECASE | re.MULTILINE)


class PackageError(ValueError):
    """A package folder that cannot be built; ``problems`` lists every reason."""

    def __init__(self, folder: Path, problems: list[str]) -> None:
        self.folder = folder
        self.problems = problems
        super().__init__(f"{folder}: " + "; ".join(problems))


@dataclass(frozen=True)
class PackageCheck:
    folder: Path
    manifest: Manifest
    warnings: list[str] = field(default_factory=list)


def check_package(folder: str | Path) -> PackageCheck:
    """Validate the folder; raise PackageError with every problem found, in plain words."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PackageError(folder, [f"{folder} is not a folder"])
    problems: list[str] = []
    warnings: list[str] = []
    manifest = None
    try:
        manifest = load_manifest(folder)
    except ManifestError as exc:
        problems += [f"manifest: {error}" for error in exc.errors]

    dockerfile = folder / "Dockerfile"
    if not dockerfile.is_file():
        problems.append("Dockerfile: missing (the image is built from the folder's Dockerfile)")
    else:
        text = dockerfile.read_text(encoding="utf-8", errors="replace")
        bases = _FROM.findall(text)
        if not _ARG_BASE.search(text):
            problems.append(
                'Dockerfile: no "ARG BASE_IMAGE" line; start with "ARG BASE_IMAGE" and '
                '"FROM ${BASE_IMAGE}" (images from the internet cannot be pulled here)'
            )
        if not bases or bases[-1] not in ("${BASE_IMAGE}", "$BASE_IMAGE"):
            problems.append(
                'Dockerfile: the last FROM must be "FROM ${BASE_IMAGE}", the Debian base image '
                "every Hearth app is built on"
            )
        users = _USER.findall(text)
        if not users or users[-1] in ("root", "0", "0:0"):
            warnings.append(
                'Dockerfile: the app runs as root; add "USER hearth" (uid 1000) unless it must '
                "bind a port below 1024 or change users"
            )

    icon_name = manifest.icon if manifest is not None else _raw_icon(folder)
    if icon_name and not (folder / icon_name.removeprefix("file://")).is_file():
        problems.append(f'manifest: icon "{icon_name}" is not a file in the package')
    if manifest is not None and not manifest.icon:
        warnings.append("manifest: no icon; the App Store will show the app without one")

    if problems:
        raise PackageError(folder, problems)
    assert manifest is not None
    return PackageCheck(folder=folder, manifest=manifest, warnings=warnings)


def _raw_icon(folder: Path) -> str:
    """The icon a manifest names even when the manifest is invalid, to report every problem."""
    for filename in MANIFEST_FILENAMES:
        try:
            data = json.loads((folder / filename).read_text(encoding="utf-8-sig"))
        except (OSError, ValueError):
            continue
        icon = data.get("icon") if isinstance(data, dict) else None
        return icon if isinstance(icon, str) else ""
    return ""
