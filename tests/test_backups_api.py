"""The backups JSON API: list an app's backups, ask for a backup or a restore; refusals."""

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


def backup_of(app, target, snapshot="0123abcd") -> Backup:
    return Backup.objects.create(
        app=app,
        app_label=str(app),
        app_uid=app.id.hex,
        target=target,
        snapshot_id=snapshot,
        app_version="1.0.0",
        size=2048,
    )


def test_the_api_lists_an_apps_backups_newest_first(owner_client, make_app, target):
    app, other = make_app("one"), make_app("two")
    older = backup_of(app, target, "aaaa1111")
    newer = backup_of(app, target, "bbbb2222")
    backup_of(other, target, "cccc3333")
    response = owner_client.get(reverse("backups_api:app_backups", args=[app.pk]))
    assert response.status_code == 200
    backups = response.json()["backups"]
    assert [b["id"] for b in backups] == [newer.pk, older.pk]
    assert backups[0]["snapshot_id"] == "bbbb2222"
    assert backups[0]["target"] == {"id": target.pk, "name": "disk"}
    assert backups[0]["size"] == 2048


def test_the_api_queues_a_backup_and_answers_with_its_task(owner_client, make_app, target):
    app = make_app()
    response = owner_client.post(
        reverse("backups_api:app_backups", args=[app.pk]),
        {"target": target.pk},
        content_type="application/json",
    )
    assert response.status_code == 202
    task = Task.objects.get(pk=response.json()["task"]["id"])
    assert (task.kind, task.app, task.params["target"]) == (Task.Kind.BACKUP, app, target.pk)


def test_the_api_names_an_unknown_target_and_a_busy_app(owner_client, make_app, target):
    app = make_app()
    url = reverse("backups_api:app_backups", args=[app.pk])
    response = owner_client.post(url, {"target": 999}, content_type="application/json")
    assert response.status_code == 400
    assert f"{target.pk} (disk)" in response.json()["errors"]["target"]
    response = owner_client.post(url, "[1]", content_type="application/json")
    assert response.json()["errors"] == {"body": "expected a JSON object"}

    owner_client.post(url, {"target": target.pk}, content_type="application/json")
    response = owner_client.post(url, {"target": target.pk}, content_type="application/json")
    assert response.status_code == 409
    assert "busy" in response.json()["errors"]["action"]
    assert app.tasks.count() == 1


def test_the_api_queues_a_restore_of_the_apps_own_backup_only(owner_client, make_app, target):
    app, other = make_app("one"), make_app("two")
    others = backup_of(other, target)
    response = owner_client.post(
        reverse("backups_api:app_restore", args=[app.pk, others.pk]),
        content_type="application/json",
    )
    assert response.status_code == 404
    own = backup_of(app, target)
    response = owner_client.post(
        reverse("backups_api:app_restore", args=[app.pk, own.pk]),
        content_type="application/json",
    )
    assert response.status_code == 202
    assert response.json()["task"]["kind"] == "restore"
    app.refresh_from_db()
    assert app.state == AppState.PENDING_RESTART


def test_outsiders_and_anonymous_callers_are_refused(outsider_client, make_app, target):
    from django.test import Client

    app = make_app()
    backup = backup_of(app, target)
    listing = reverse("backups_api:app_backups", args=[app.pk])
    restore = reverse("backups_api:app_restore", args=[app.pk, backup.pk])
    assert outsider_client.get(listing).status_code == 403
    assert (
        outsider_client.post(
            listing, {"target": target.pk}, content_type="application/json"
        ).status_code
        == 403
    )
    assert outsider_client.post(restore).status_code == 403
    assert Client().get(listing).status_code == 302  # sent to sign in
    assert outsider_client.get(restore).status_code == 405
    assert not Task.objects.exists()
    app.refresh_from_db()
    assert app.state == AppState.RUNNING


def test_an_operator_of_the_app_may_use_the_api_for_it(client, make_app, target, django_user_model):
    from panel.accounts.services import set_operated_apps

    app = make_app()
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    operator = django_user_model.objects.create_user("op", "op@example.com", "pw")
    set_operated_apps(operator, [app], actor=root)
    client.force_login(operator)
    response = client.post(
        reverse("backups_api:app_backups", args=[app.pk]),
        {"target": target.pk},
        content_type="application/json",
    )
    assert response.status_code == 202
