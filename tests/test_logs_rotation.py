"""The platform's own logs are rotated before they fill the disk, while their writers keep
writing to them."""

from __future__ import annotations

from panel.monitoring.logrotate import rotate_logs


def test_big_logs_are_rotated_with_bounded_backups_and_the_writer_keeps_appending(tmp_path):
    log = tmp_path / "dockerd.log"
    small = tmp_path / "redis.log"
    small.write_bytes(b"small\n")
    writer = log.open("ab", buffering=0)  # like dockerd: opened once with O_APPEND
    total_written = 0
    for round_number in range(6):
        chunk = f"round {round_number} ".encode() * 40_000  # about 320 KB a round
        writer.write(chunk)
        total_written += len(chunk)
        assert rotate_logs([tmp_path], max_bytes=200_000, backups=2) == [log]
        writer.write(b"after rotation\n")
        assert log.read_bytes() == b"after rotation\n"  # not a sparse file of zeros
    writer.close()

    kept = sorted(path.name for path in tmp_path.iterdir())
    assert kept == ["dockerd.log", "dockerd.log.1", "dockerd.log.2", "redis.log"]
    on_disk = sum(path.stat().st_size for path in tmp_path.iterdir())
    assert on_disk < 3 * 400_000 < total_written
    assert b"round 5" in (tmp_path / "dockerd.log.1").read_bytes()
    assert b"round 4" in (tmp_path / "dockerd.log.2").read_bytes()
    assert small.read_bytes() == b"small\n"
