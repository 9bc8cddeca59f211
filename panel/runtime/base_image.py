"""The base image every app and addon image is built FROM, made from Debian's packages.

No image can be pulled from the internet, so Hearth makes its own: debootstrap a minimal
Debian into a folder, finish it with a few files, `docker import` the tree, and push it to the
local registry. The tag is a hash of the recipe, so it is rebuilt only when the recipe changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

import docker
from docker.errors import APIError, ImageNotFound

log = logging.getLogger(__name__)

RECIPE = {
    "suite": "bookworm",
    "variant": "minbase",
    "mirror": "http://deb.debian.org/debian",
    "include": ["ca-certificates"],
    # Runs inside the new root before import: the app user, the data folder with its
    # ownership (Docker copies it into each new /app/data volume), and a small image.
    "finish": [
        "groupadd --gid 1000 hearth",
        "useradd --uid 1000 --gid 1000 --home-dir /app/data --no-create-home"
        " --shell /bin/bash hearth",
        "mkdir -p /app/code /app/data",
        "chown 1000:1000 /app/data",
        # Docker gives a tmpfs the mode of the folder it covers; apps run unprivileged and
        # must be able to write their pid files and sockets in /run.
        "chmod 1777 /run",
        "apt-get clean",
        "rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc/* /usr/share/man/*",
    ],
    "changes": [
        "ENV LANG=C.UTF-8",
        "ENV DEBIAN_FRONTEND=noninteractive",
        "WORKDIR /app/code",
        'CMD ["/bin/bash"]',
    ],
}

REPOSITORY = "hearth/base"


def recipe_hash() -> str:
    return hashlib.sha256(json.dumps(RECIPE, sort_keys=True).encode()).hexdigest()[:16]


def base_image_reference(registry: str) -> str:
    return f"{registry}/{REPOSITORY}:{recipe_hash()}"


def _in_registry(client: docker.DockerClient, reference: str) -> bool:
    try:
        client.images.get_registry_data(reference)
        return True
    except (APIError, ImageNotFound):
        return False


def ensure_base_image(client: docker.DockerClient, registry: str) -> tuple[str, bool]:
    """Make sure the base image for the current recipe is in the registry and local store.

    Returns the reference and whether it had to be built.
    """
    reference = base_image_reference(registry)
    if _in_registry(client, reference):
        try:
            client.images.get(reference)
        except ImageNotFound:
            client.images.pull(reference)
        return reference, False
    try:
        client.images.get(reference)
    except ImageNotFound:
        _build(reference)
    client.images.push(reference)
    if not _in_registry(client, reference):
        raise RuntimeError(f"pushed {reference} but the registry does not list it")
    return reference, True


def _build(reference: str) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="hearth-base-"))
    root = workdir / "root"
    try:
        log.info("debootstrap %s into %s", RECIPE["suite"], root)
        subprocess.run(
            [
                "debootstrap",
                f"--variant={RECIPE['variant']}",
                f"--include={','.join(RECIPE['include'])}",
                RECIPE["suite"],
                str(root),
                RECIPE["mirror"],
            ],
            check=True,
            capture_output=True,
        )
        for command in RECIPE["finish"]:
            subprocess.run(["chroot", str(root), "/bin/sh", "-c", command], check=True)
        changes = [arg for change in RECIPE["changes"] for arg in ("--change", change)]
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            ["docker", "import", *changes, "-", reference],
            stdin=tar.stdout,
            check=True,
            capture_output=True,
        )
        if tar.wait() != 0:
            raise RuntimeError("tar of the debootstrapped tree failed")
    except subprocess.CalledProcessError as exc:
        stderr = (exc.stderr or b"").decode(errors="replace")[-2000:]
        raise RuntimeError(f"building the base image failed: {exc.cmd[0]}: {stderr}") from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
