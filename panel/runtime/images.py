"""Building app images FROM the base image and moving them through the local registry."""

from __future__ import annotations

import json

from docker.errors import APIError, BuildError

from panel.runtime.containers import RuntimeFailure, get_runtime


def build_image(context_dir: str, tag: str, buildargs: dict[str, str]) -> str:
    """`docker build` the folder; returns the image id. The build log is in the error."""
    client = get_runtime().client
    try:
        image, _ = client.images.build(
            path=context_dir, tag=tag, buildargs=buildargs, rm=True, forcerm=True, pull=False
        )
    except BuildError as exc:
        lines = [chunk.get("stream", "") or chunk.get("error", "") for chunk in exc.build_log]
        raise RuntimeFailure(f"docker build failed: {exc.msg}\n{''.join(lines)[-3000:]}") from None
    except APIError as exc:
        raise RuntimeFailure(f"docker build failed: {exc.explanation}") from None
    return image.id


def push_image(tag: str) -> str:
    """Push to the registry and return the manifest digest (sha256:...)."""
    client = get_runtime().client
    repository, _, version = tag.rpartition(":")
    digest = ""
    for line in client.images.push(repository, tag=version, stream=True, decode=True):
        if "error" in line:
            raise RuntimeFailure(f"pushing {tag} failed: {line['error']}")
        aux = line.get("aux") or {}
        digest = aux.get("Digest", digest)
    if not digest:
        raise RuntimeFailure(f"pushing {tag} gave no digest: {json.dumps(line)[:300]}")
    return digest


def registry_digest(reference: str) -> str | None:
    """The digest the registry holds for `reference`, or None when it has no such image."""
    try:
        return get_runtime().client.images.get_registry_data(reference).id
    except APIError:
        return None
