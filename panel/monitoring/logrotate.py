"""Rotation of the platform's own log files (dockerd, redis, registry, nginx).

supervisord already caps the logs of the programs it runs; the rest are written by
processes that keep their file open with O_APPEND and never reopen it, so rotation is
copy-then-truncate: the writer's next line lands at the start of the emptied file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_BACKUPS = 3


def rotate_file(path: Path, backups: int) -> None:
    """path -> path.1 -> path.2 ... -> path.<backups>, the oldest dropped; path emptied."""
    oldest = path.with_name(f"{path.name}.{backups}")
    oldest.unlink(missing_ok=True)
    for number in range(backups - 1, 0, -1):
        older = path.with_name(f"{path.name}.{number}")
        if older.exists():
            older.rename(path.with_name(f"{path.name}.{number + 1}"))
    if backups:
        shutil.copyfile(path, path.with_name(f"{path.name}.1"))
    with path.open("r+b") as handle:
        handle.truncate(0)


def rotate_logs(
    folders: list[Path], max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS
) -> list[Path]:
    """Rotate every *.log in `folders` bigger than `max_bytes`; returns the files rotated.

    The threshold sits above supervisord's own cap (10 MB), so its files are never touched
    twice.
    """
    rotated = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.log")):
            if path.is_file() and path.stat().st_size > max_bytes:
                rotate_file(path, backups)
                rotated.append(path)
    return rotated
