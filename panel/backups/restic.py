"""A thin, framework-free wrapper around the `restic` binary (Debian's restic 0.14).

One restic repository per backup target. The repository password travels in the child's
environment (RESTIC_PASSWORD), never on the command line, where `ps` would show it to anyone.
Commands run with `--json` where restic supports it and the output is parsed here, so the rest
of Hearth deals in `BackupSummary` and `Snapshot`, not in restic's text.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

RESTIC = "restic"
# restic's exit code 3 means "snapshot written but some files could not be read"; anything
# else non-zero means no usable result.
INCOMPLETE_SNAPSHOT = 3


class ResticError(Exception):
    """A restic command failed; the message is restic's own words, made readable."""

    def __init__(self, message: str, *, wrong_password: bool = False, no_repository: bool = False):
        self.wrong_password = wrong_password
        self.no_repository = no_repository
        super().__init__(message)


@dataclass(frozen=True)
class BackupSummary:
    snapshot_id: str
    data_added: int
    total_bytes_processed: int
    files_new: int
    files_changed: int
    files_unmodified: int
    duration: float


@dataclass(frozen=True)
class Snapshot:
    id: str
    short_id: str
    time: str
    paths: list[str]
    tags: list[str] = field(default_factory=list)
    hostname: str = ""

    def tag(self, key: str) -> str | None:
        """The value of a `key:value` tag, as Hearth writes them."""
        prefix = f"{key}:"
        return next((tag[len(prefix) :] for tag in self.tags if tag.startswith(prefix)), None)


@dataclass(frozen=True)
class Repository:
    """Where a repository lives and how to open it: restic's `-r` plus its environment."""

    location: str
    password: str
    # Extra environment, e.g. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY for an s3: location.
    env: Mapping[str, str] = field(default_factory=dict)
    cache_dir: str | None = None


def backup_tags(app_id: str, version: str, reason: str) -> list[str]:
    return [f"app:{app_id}", f"version:{version}", f"reason:{reason}"]


def build_command(repository: Repository, *args: str) -> list[str]:
    return [RESTIC, "--repo", repository.location, *args]


def build_env(repository: Repository, base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    # Only this call's repository counts: a password file or repository set in the
    # environment of the worker must not be picked up instead.
    for name in ("RESTIC_PASSWORD_FILE", "RESTIC_PASSWORD_COMMAND", "RESTIC_REPOSITORY"):
        env.pop(name, None)
    env.update(repository.env)
    env["RESTIC_PASSWORD"] = repository.password
    if repository.cache_dir:
        env["RESTIC_CACHE_DIR"] = repository.cache_dir
    return env


def backup_args(tags: Sequence[str], host: str) -> list[str]:
    """`backup .` from inside the folder: the snapshot holds the folder's contents at its root,
    and the absolute folder path (kept stable per app) lets restic find the parent snapshot."""
    args = ["backup", "--json", "--host", host]
    for tag in tags:
        args += ["--tag", tag]
    return [*args, "."]


def forget_args(
    tags: Sequence[str],
    *,
    keep_daily: int = 0,
    keep_weekly: int = 0,
    keep_monthly: int = 0,
    keep_within: str = "",
) -> list[str]:
    args = ["forget", "--json", "--prune", "--group-by", "paths"]
    for tag in tags:
        args += ["--tag", tag]
    for flag, count in (
        ("--keep-daily", keep_daily),
        ("--keep-weekly", keep_weekly),
        ("--keep-monthly", keep_monthly),
    ):
        if count:
            args += [flag, str(count)]
    if keep_within:
        args += ["--keep-within", keep_within]
    if len(args) == 5 + 2 * len(tags):
        raise ValueError("a retention policy needs at least one keep rule")
    return args


def parse_backup_output(stdout: str) -> BackupSummary:
    """restic prints one JSON object a line (status updates, then one summary)."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        if message.get("message_type") == "summary":
            return BackupSummary(
                snapshot_id=message["snapshot_id"],
                data_added=int(message.get("data_added", 0)),
                total_bytes_processed=int(message.get("total_bytes_processed", 0)),
                files_new=int(message.get("files_new", 0)),
                files_changed=int(message.get("files_changed", 0)),
                files_unmodified=int(message.get("files_unmodified", 0)),
                duration=float(message.get("total_duration", 0.0)),
            )
    raise ResticError("restic finished the backup without a summary")


def parse_snapshots_output(stdout: str) -> list[Snapshot]:
    return [
        Snapshot(
            id=item["id"],
            short_id=item.get("short_id", item["id"][:8]),
            time=item["time"],
            paths=list(item.get("paths") or []),
            tags=list(item.get("tags") or []),
            hostname=item.get("hostname", ""),
        )
        for item in json.loads(stdout or "[]")
    ]


def describe_failure(stderr: str) -> ResticError:
    """Turn restic's stderr into one error that says what went wrong, not how."""
    text = stderr.strip()
    lines = [line for line in text.splitlines() if line.strip()]
    fatal = next((line for line in lines if line.startswith("Fatal:")), lines[-1] if lines else "")
    fatal = fatal.removeprefix("Fatal:").strip() or "restic failed without a message"
    if "wrong password" in text:
        return ResticError(
            "the repository password (recovery key) is wrong: restic cannot decrypt this "
            "repository",
            wrong_password=True,
        )
    if "Is there a repository at the following location?" in text:
        return ResticError(f"there is no restic repository there ({fatal})", no_repository=True)
    if "no matching ID found" in text or "no snapshot" in text.lower():
        return ResticError(f"no such snapshot in the repository ({fatal})")
    if "repository is already locked" in text:
        # restic ends with advice about `unlock`; what matters is who holds the lock.
        holder = next((line for line in lines if "locked" in line), fatal)
        return ResticError(
            f"another restic command is using the repository ({holder.strip()}); "
            "try again when it is done"
        )
    return ResticError(fatal)


class Restic:
    """The restic commands Hearth uses, on one repository."""

    def __init__(
        self,
        repository: Repository,
        *,
        timeout: float = 3600,
        interrupt: Callable[[], None] | None = None,
    ) -> None:
        self.repository = repository
        self.timeout = timeout
        # Called about once a second while restic runs; whatever it raises stops restic
        # (a cancelled task's checkpoint) and propagates.
        self.interrupt = interrupt

    def _run(self, *args: str, cwd: Path | None = None, ok_codes: tuple[int, ...] = (0,)) -> str:
        if self.interrupt is not None:
            return self._run_interruptible(args, cwd, ok_codes)
        try:
            result = subprocess.run(
                build_command(self.repository, *args),
                env=build_env(self.repository),
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                stdin=subprocess.DEVNULL,
            )
        except FileNotFoundError:
            raise ResticError(
                "the restic program is not installed (apt-get install restic)"
            ) from None
        except subprocess.TimeoutExpired:
            raise ResticError(f"restic {args[0]} took longer than {self.timeout:.0f}s") from None
        if result.returncode not in ok_codes:
            raise describe_failure(result.stderr)
        return result.stdout

    def _run_interruptible(
        self, args: Sequence[str], cwd: Path | None, ok_codes: tuple[int, ...]
    ) -> str:
        try:
            process = subprocess.Popen(
                build_command(self.repository, *args),
                env=build_env(self.repository),
                cwd=cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
            )
        except FileNotFoundError:
            raise ResticError(
                "the restic program is not installed (apt-get install restic)"
            ) from None
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                try:
                    stdout, stderr = process.communicate(timeout=1)
                    break
                except subprocess.TimeoutExpired:
                    if time.monotonic() > deadline:
                        raise ResticError(
                            f"restic {args[0]} took longer than {self.timeout:.0f}s"
                        ) from None
                    self.interrupt()
        finally:
            if process.poll() is None:
                # SIGTERM first: restic then removes its lock from the repository.
                process.terminate()
                try:
                    process.communicate(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.communicate()
        if process.returncode not in ok_codes:
            raise describe_failure(stderr)
        return stdout

    def exists(self) -> bool:
        """True when a repository opens with this password; raises on a wrong password."""
        try:
            self._run("cat", "config")
        except ResticError as exc:
            if exc.no_repository:
                return False
            raise
        return True

    def init(self) -> None:
        self._run("init")

    def ensure_initialised(self) -> bool:
        """Open the repository, creating it if there is none. True when it was created."""
        if self.exists():
            return False
        self.init()
        return True

    def backup(self, folder: Path, tags: Sequence[str], host: str) -> BackupSummary:
        stdout = self._run(*backup_args(tags, host), cwd=folder, ok_codes=(0, INCOMPLETE_SNAPSHOT))
        return parse_backup_output(stdout)

    def snapshots(self, tags: Sequence[str] = ()) -> list[Snapshot]:
        args = ["snapshots", "--json"]
        for tag in tags:
            args += ["--tag", tag]
        return parse_snapshots_output(self._run(*args))

    def snapshot(self, snapshot_id: str) -> Snapshot:
        found = parse_snapshots_output(self._run("snapshots", "--json", snapshot_id))
        if not found:
            raise ResticError(f"no snapshot {snapshot_id} in the repository")
        return found[0]

    def dump(self, snapshot_id: str, path: str) -> str:
        """The text of one file of the snapshot, e.g. "/app.json" (restic dump)."""
        return self._run("dump", snapshot_id, path)

    def restore(self, snapshot_id: str, target: Path) -> None:
        """Write the snapshot's files into `target` (the backed-up folder's contents)."""
        self._run("restore", snapshot_id, "--target", str(target))

    def forget(
        self,
        tags: Sequence[str],
        *,
        keep_daily: int = 0,
        keep_weekly: int = 0,
        keep_monthly: int = 0,
        keep_within: str = "",
    ) -> list[str]:
        """Apply a retention policy; returns the ids of the snapshots removed."""
        stdout = self._run(
            *forget_args(
                tags,
                keep_daily=keep_daily,
                keep_weekly=keep_weekly,
                keep_monthly=keep_monthly,
                keep_within=keep_within,
            )
        )
        # With --prune restic prints its prune report after the JSON line.
        groups = json.loads(next(line for line in stdout.splitlines() if line.startswith("[")))
        return [item["id"] for group in groups for item in (group.get("remove") or [])]

    def forget_snapshots(self, snapshot_ids: Sequence[str]) -> None:
        """Remove these snapshots and the data only they used."""
        self._run("forget", "--prune", *snapshot_ids)

    def check(self) -> None:
        self._run("check")
