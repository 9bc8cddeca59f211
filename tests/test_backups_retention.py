"""Retention and integrity checks on a real restic repository in a folder target."""

from __future__ import annotations

import pytest

from panel.backups.models import Backup
from panel.backups.restic import Restic, backup_tags
from panel.backups.services import check_target, create_target, prune_app_backups

pytestmark = pytest.mark.django_db


def snapshot_rows(target, folder, app_uid: str, count: int) -> list[Backup]:
    restic = Restic(target.repository())
    rows = []
    for number in range(count):
        (folder / "data").write_text(f"version {number}")
        summary = restic.backup(folder, backup_tags(app_uid, "1.0.0", "scheduled"), host="h")
        rows.append(
            Backup.objects.create(
                app_label="Site",
                app_uid=app_uid,
                target=target,
                snapshot_id=summary.snapshot_id,
                app_version="1.0.0",
                reason="scheduled",
            )
        )
    return rows


def test_pruning_keeps_one_a_day_and_drops_the_rows_of_forgotten_snapshots(target_folder, tmp_path):
    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    data = tmp_path / "staging"
    data.mkdir()
    rows = snapshot_rows(target, data, "a" * 32, 3)
    other = snapshot_rows(target, data, "b" * 32, 1)

    assert prune_app_backups("a" * 32, target, keep_daily=1) == 2
    # The newest of the day stays; the other app's backup is not touched.
    assert list(Backup.objects.filter(app_uid="a" * 32)) == [rows[-1]]
    assert Backup.objects.filter(pk=other[0].pk).exists()
    assert len(Restic(target.repository()).snapshots(["app:" + "a" * 32])) == 1


def test_an_integrity_check_passes_on_a_sound_repository_and_reports_a_damaged_one(
    target_folder, tmp_path
):
    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    data = tmp_path / "staging"
    data.mkdir()
    snapshot_rows(target, data, "a" * 32, 1)
    assert check_target(target) == ""

    # Bit rot on the disk: some bytes of every pack file overwritten, sizes unchanged.
    for pack in (path for path in (target_folder / "data").rglob("*") if path.is_file()):
        content = bytearray(pack.read_bytes())
        content[10:40] = b"\xff" * 30
        pack.write_bytes(bytes(content))
    assert check_target(target) == "repository contains errors"


def test_deleting_a_backup_removes_its_snapshot_and_keeps_the_others(target_folder, tmp_path):
    from panel.backups.services import delete_backup

    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    data = tmp_path / "staging"
    data.mkdir()
    first, second = snapshot_rows(target, data, "a" * 32, 2)
    delete_backup(first)
    assert list(Backup.objects.all()) == [second]
    [left] = Restic(target.repository()).snapshots()
    assert left.id.startswith(second.snapshot_id)


def test_a_backup_to_a_repository_gone_from_its_place_fails_instead_of_starting_a_new_one(
    make_app, target_folder
):
    import shutil

    from panel.backups.restic import ResticError
    from panel.backups.services import backup_app

    app = make_app()
    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    assert backup_app(app, target).app_uid == app.id.hex
    # As when the backup disk is not mounted: an empty folder where the repository was.
    shutil.rmtree(target_folder)
    target_folder.mkdir()
    with pytest.raises(ResticError) as caught:
        backup_app(app, target)
    assert caught.value.no_repository
    assert list(target_folder.iterdir()) == []
    assert Backup.objects.count() == 1
