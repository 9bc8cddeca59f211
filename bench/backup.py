"""Backups: restic through Hearth's own wrapper against tar + gzip, on 1 GiB of mixed files.

The data set, made fresh in a temporary folder (on the disk that holds /tmp):
- 30 000 small text files (~100 MiB) in 300 folders, like a wiki's pages or a mail store;
- 3 files of random bytes (384 MiB), like photos or already-compressed media;
- 9 compressible files (576 MiB) of text-like bytes that never repeat, like logs or dumps.

Each figure beside its baseline in the same run, on the same disk:
- backup-full: a first `restic backup` (panel.backups.restic.Restic, a folder repository) vs
  `tar -czf` of the same folder; goal <= 1.5x tar;
- backup-incremental: a second backup of the unchanged folder vs the first; goal <= 0.1x;
- restore: `restic restore` of the first snapshot vs `tar -xzf` of the archive; goal <= 1.5x.

Run: .venv/bin/python bench/backup.py [--keep] [--small-files N]
Exits 0 whether goals are met or missed; non-zero only if something could not be measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from panel.backups.restic import Repository, Restic, ResticError, backup_tags  # noqa: E402

MIB = 1024 * 1024
RANDOM_FILES, RANDOM_SIZE = 3, 128 * MIB
COMPRESSIBLE_FILES, COMPRESSIBLE_SIZE = 9, 64 * MIB
SMALL_FOLDERS = 300
# Random bytes mapped onto 32 text characters: gzip gets about 1.6x out of it, and no two
# stretches repeat, so restic's deduplication finds nothing to skip in the first backup.
TEXT_ALPHABET = b"etaoinshrdlucmfwypvbgkjqxz  \n\n.,"
TEXT_TABLE = bytes(TEXT_ALPHABET[value % len(TEXT_ALPHABET)] for value in range(256))


def text_bytes(size: int) -> bytes:
    return os.urandom(size).translate(TEXT_TABLE)


def make_data_set(folder: Path, small_files: int) -> int:
    """Write the mixed files; returns their total size in bytes."""
    total = 0
    small = folder / "pages"
    per_folder = max(1, small_files // SMALL_FOLDERS)
    block = text_bytes(small_files * 3500 + 8192)
    for number in range(small_files):
        sub = small / f"{number // per_folder:03d}"
        if number % per_folder == 0:
            sub.mkdir(parents=True, exist_ok=True)
        size = 1200 + (number * 7919) % 4600  # 1.2–5.8 KB, ~3.5 KB on average
        start = (number * 3500) % (len(block) - size)
        (sub / f"page-{number:05d}.txt").write_bytes(block[start : start + size])
        total += size
    media = folder / "media"
    media.mkdir()
    for number in range(RANDOM_FILES):
        with (media / f"photo-{number}.bin").open("wb") as handle:
            for _ in range(RANDOM_SIZE // (8 * MIB)):
                handle.write(os.urandom(8 * MIB))
        total += RANDOM_SIZE
    logs = folder / "logs"
    logs.mkdir()
    for number in range(COMPRESSIBLE_FILES):
        with (logs / f"app-{number}.log").open("wb") as handle:
            for _ in range(COMPRESSIBLE_SIZE // (8 * MIB)):
                handle.write(text_bytes(8 * MIB))
        total += COMPRESSIBLE_SIZE
    subprocess.run(["sync"], check=True)
    return total


def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def run(command: list[str], cwd: Path | None = None) -> None:
    subprocess.run(command, cwd=cwd, check=True, stdin=subprocess.DEVNULL)


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def ratio_line(name: str, ratio: float, baseline: str, goal: float) -> str:
    verdict = "ok" if ratio <= goal else "MISSED"
    return f"target {name}: {ratio:.2f}x {baseline} (goal <= {goal:g}) {verdict}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small-files", type=int, default=30_000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if shutil.which("restic") is None or shutil.which("tar") is None:
        print("restic and tar are needed (apt-get install restic tar)", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="hearth-bench-backup-"))
    data, repo = work / "data", work / "repository"
    data.mkdir()
    try:
        made, total = timed(lambda: make_data_set(data, args.small_files))
        files = args.small_files + RANDOM_FILES + COMPRESSIBLE_FILES
        print(f"data set: {total / MIB:.0f} MiB in {files} files, made in {made:.1f} s ({work})")
        restic = Restic(
            Repository(
                location=str(repo),
                password="bench-only-recovery-key",  # noqa: S106 - a throwaway repository
                cache_dir=str(work / "restic-cache"),
            )
        )
        restic.init()
        tags = backup_tags("0" * 32, "1.0.0", "manual")

        # Warm both the same way: the data set was just written, so it is in the page cache.
        tar_time, _ = timed(lambda: run(["tar", "-czf", str(work / "data.tar.gz"), "."], data))
        full_time, full = timed(lambda: restic.backup(data, tags, host="bench"))
        second_time, second = timed(lambda: restic.backup(data, tags, host="bench"))
        untar = work / "untarred"
        untar.mkdir()
        untar_time, _ = timed(lambda: run(["tar", "-xzf", str(work / "data.tar.gz")], untar))
        restored = work / "restored"
        restore_time, _ = timed(lambda: restic.restore(full.snapshot_id, restored))
        # Every restic command first derives the key from the password (scrypt, calibrated
        # at init to about half a second): a fixed cost in the incremental figure.
        open_time, _ = timed(restic.exists)

        if folder_size(restored) != total or folder_size(untar) != total:
            print("the restored data set is not the size of the original", file=sys.stderr)
            return 1
        archive = (work / "data.tar.gz").stat().st_size
        print(f"tar -czf:           {tar_time:7.2f} s  ({archive / MIB:.0f} MiB archive)")
        print(
            f"restic backup:      {full_time:7.2f} s  ({full.data_added / MIB:.0f} MiB added, "
            f"repository {folder_size(repo) / MIB:.0f} MiB)"
        )
        print(
            f"restic backup (2nd):{second_time:7.2f} s  ({second.data_added / 1024:.0f} KiB added, "
            f"{second.files_unmodified} files unmodified)"
        )
        print(f"restic open only:   {open_time:7.2f} s  (key derivation, index: in every command)")
        print(f"tar -xzf:           {untar_time:7.2f} s")
        print(f"restic restore:     {restore_time:7.2f} s")
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(ratio_line("backup-full", full_time / tar_time, "tar", 1.5))
        print(ratio_line("backup-incremental", second_time / full_time, "full", 0.1))
        print(ratio_line("restore", restore_time / untar_time, "untar", 1.5))
    except (ResticError, subprocess.CalledProcessError, OSError) as exc:
        print(f"could not measure: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
