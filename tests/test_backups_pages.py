"""The Backups section of the app page and the backup targets page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from panel.backups.models import Backup, BackupTarget
from panel.core.models import Task
from panel.core.states import AppState

pytestmark = pytest.mark.django_db


@pytest.fixture
def target(tmp_path):
    return BackupTarget.objects.create(
        name="disk", kind="filesystem", path=str(tmp_path), password="pw"
    )


def test_adding_a_folder_target_shows_its_recovery_key_once(owner_client, target_folder):
    response = owner_client.post(
        reverse("backups:target_add"),
        {"name": "disk", "kind": "filesystem", "path": str(target_folder)},
    )
    assert response.status_code == 200
    target = BackupTarget.objects.get(name="disk")
    assert target.password in response.content.decode()
    page = owner_client.get(reverse("backups:targets")).content.decode()
    assert "disk" in page and target.password not in page


def test_a_target_that_fails_its_check_shows_the_field_error_and_saves_nothing(
    owner_client, tmp_path
):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    response = owner_client.post(
        reverse("backups:target_add"),
        {"name": "disk", "kind": "filesystem", "path": str(blocker / "sub")},
    )
    assert response.status_code == 400
    assert "could not create the folder" in response.content.decode()
    assert not BackupTarget.objects.exists()


def test_the_targets_page_is_refused_to_an_outsider(outsider_client):
    assert outsider_client.get(reverse("backups:targets")).status_code == 403


def test_the_app_page_lists_backups_and_offers_back_up_now(owner_client, make_app, target):
    app = make_app()
    Backup.objects.create(
        app=app,
        app_label=str(app),
        app_uid=app.id.hex,
        target=target,
        snapshot_id="0123abcd",
        app_version="1.0.0",
        size=2048,
    )
    page = owner_client.get(reverse("core:app_detail", args=[app.pk])).content.decode()
    assert "Back up now" in page
    assert "2.0\xa0KB" in page
    assert "Restore" in page


def test_back_up_now_queues_a_backup_task(owner_client, make_app, target):
    app = make_app()
    response = owner_client.post(
        reverse("backups:app_backup", args=[app.pk]), {"target": target.pk}
    )
    assert response.status_code == 302
    assert app.tasks.get().kind == Task.Kind.BACKUP


def test_restore_queues_a_restore_task_and_moves_the_app_to_pending_restart(
    owner_client, make_app, target
):
    app = make_app()
    backup = Backup.objects.create(
        app=app,
        app_label=str(app),
        app_uid=app.id.hex,
        target=target,
        snapshot_id="0123abcd",
        app_version="1.0.0",
    )
    owner_client.post(reverse("backups:app_restore", args=[app.pk]), {"backup": backup.pk})
    app.refresh_from_db()
    assert app.tasks.get().kind == Task.Kind.RESTORE
    assert app.state == AppState.PENDING_RESTART


def test_an_outsider_cannot_back_up_or_restore_someone_elses_app(outsider_client, make_app, target):
    app = make_app()
    url = reverse("backups:app_backup", args=[app.pk])
    assert outsider_client.post(url, {"target": target.pk}).status_code == 403
    assert not app.tasks.exists()


def test_delete_removes_a_backup_of_the_app(owner_client, make_app, target_folder, tmp_path):
    from panel.backups.restic import Restic, backup_tags
    from panel.backups.services import create_target

    app = make_app()
    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    (tmp_path / "f").write_text("x")
    summary = Restic(target.repository()).backup(
        tmp_path, backup_tags(app.id.hex, "1.0.0", "manual"), host="h"
    )
    backup = Backup.objects.create(
        app=app,
        app_label=str(app),
        app_uid=app.id.hex,
        target=target,
        snapshot_id=summary.snapshot_id,
        app_version="1.0.0",
    )
    response = owner_client.post(
        reverse("backups:app_backup_delete", args=[app.pk]), {"backup": backup.pk}, follow=True
    )
    assert "deleted" in response.content.decode()
    assert not Backup.objects.exists()
    assert Restic(target.repository()).snapshots() == []
