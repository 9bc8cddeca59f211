"""Rotation of a manifest's logPaths files while they are written and followed: the rotated
part and the file together hold every line (collapse-range, not copy-and-truncate, on the
app's data volume), and a follower goes on across a rotation without skipping or repeating a
line — whether it had read past the cut or was still behind it, and on a tmpfs (/tmp), where
rotation has to copy and truncate, too."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from docker.types import Mount

from panel.monitoring.consumers import FileFollower
from panel.monitoring.services import rotate_app_log_files
from panel.runtime.containers import get_runtime

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LOG = "/app/data/app.log"  # a Docker volume on ext4: rotation cuts it in place
TMPFS_LOG = "/tmp/app.log"  # tmpfs cannot collapse a range: copied and truncated
PAD = "x" * 90  # ~100 bytes a line: a few seconds of writing spans several 4 KiB blocks


def numbers(lines: list[str]) -> list[int]:
    return [int(line.split()[0][1:]) for line in lines]


def write_lines(container, first: int, last: int, log: str = LOG) -> None:
    script = f'for i in $(seq {first} {last}); do echo "f$i {PAD}" >> {log}; done'
    assert container.exec_run(["sh", "-c", script]).exit_code == 0


class Collected:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.offset = -1

    def __call__(self, item) -> None:
        self.lines += item["lines"]
        self.offset = item["offset"]


@pytest.fixture
def data_volume(docker_runtime, base_image, request):
    """A Docker volume for /app/data, as installed apps have (ext4 under Docker's root)."""
    name = f"{settings.HEARTH_INSTANCE}-rotation-{request.node.name[-30:]}"
    name = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
    volume = docker_runtime.client.volumes.create(
        name=name, labels={"io.hearth.instance": settings.HEARTH_INSTANCE}
    )
    # A fresh volume belongs to root; the app's user writes to it, as after an install.
    docker_runtime.client.containers.run(
        base_image,
        # A file in it too: an empty volume takes the image folder's owner and mode again.
        ["sh", "-c", "chmod 0777 /app/data && touch /app/data/.keep"],
        user="root",
        volumes={volume.name: {"bind": "/app/data", "mode": "rw"}},
        remove=True,
    )
    yield [Mount(target="/app/data", source=volume.name, type="volume")]
    for container in docker_runtime.client.containers.list(all=True, filters={"volume": name}):
        container.remove(force=True)
    volume.remove(force=True)


@pytest.fixture
def follower_and_app(app_with_container, data_volume):
    app, container = app_with_container(
        "sleep 600",
        subdomain="rotating",
        manifest={"logPaths": [LOG, TMPFS_LOG]},
        mounts=data_volume,
    )
    collected = Collected()
    follower = FileFollower(container.name, {LOG: 0, TMPFS_LOG: 0}, collected)
    return follower, container, collected


def read(follower: FileFollower, log: str = LOG) -> None:
    follower._read(get_runtime(), log, follower.offsets[log])


@pytest.mark.parametrize("log", [LOG, TMPFS_LOG])
def test_a_follower_behind_the_cut_reads_the_rest_from_the_backup(follower_and_app, log):
    follower, container, collected = follower_and_app
    write_lines(container, 1, 100, log)
    read(follower, log)
    assert numbers(collected.lines) == list(range(1, 101))
    write_lines(container, 101, 300, log)  # ~30 KB: the cut will be past this offset

    assert rotate_app_log_files(max_bytes=1000)
    write_lines(container, 301, 310, log)
    read(follower, log)

    assert numbers(collected.lines) == list(range(1, 311))
    read(follower, log)  # and nothing twice
    assert numbers(collected.lines) == list(range(1, 311))


def test_a_follower_past_the_cut_goes_on_where_its_lines_moved_to(follower_and_app):
    follower, container, collected = follower_and_app
    write_lines(container, 1, 300)
    read(follower)
    assert numbers(collected.lines) == list(range(1, 301))

    assert rotate_app_log_files(max_bytes=1000)
    write_lines(container, 301, 302)
    read(follower)
    write_lines(container, 303, 330)
    read(follower)

    assert numbers(collected.lines) == list(range(1, 331))
    files = container.exec_run(["sh", "-c", f"cat {LOG}.1 {LOG}"]).output.decode()
    assert numbers(files.splitlines()) == list(range(1, 331))  # the cut line is whole again


def test_the_live_follower_and_the_files_keep_every_line_across_rotations(
    app_with_container, data_volume
):
    writer = f'i=0; while true; do i=$((i+1)); echo "f$i {PAD}" >> {LOG}; sleep 0.005; done'
    app, container = app_with_container(
        writer, subdomain="rotlive", manifest={"logPaths": [LOG]}, mounts=data_volume
    )
    collected = Collected()
    # The thread the log socket runs (AppLogConsumer), polling once a second.
    follower = FileFollower(container.name, {LOG: None}, collected)
    follower.start()
    try:

        def lines_past(count: int) -> None:
            wanted = len(collected.lines) + count
            deadline = time.monotonic() + 15
            while len(collected.lines) < wanted:
                assert time.monotonic() < deadline, "the follower stopped"
                time.sleep(0.1)

        lines_past(100)
        for rotation in range(5):
            assert rotate_app_log_files(max_bytes=1000) == {app.id.hex: LOG}
            if rotation == 0:
                # Right after the first cut, the backup and the file hold the log from line 1.
                both = container.exec_run(["sh", "-c", f"cat {LOG}.1 {LOG}"]).output.decode()
                on_disk = numbers(both.splitlines()[:-1])  # the last one may be half written
                assert on_disk == list(range(1, len(on_disk) + 1))
            lines_past(100)  # ~10 KB written and followed: there is a block to cut again
        lines_past(100)  # and it goes on after the last rotation
    finally:
        follower.stop()
    got = numbers(collected.lines)
    assert got == list(range(got[0], got[0] + len(got))), [
        (a, b) for a, b in zip(got, got[1:], strict=False) if b != a + 1
    ]
