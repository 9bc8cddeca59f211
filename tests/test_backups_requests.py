"""Asking for a backup or a restore: one task per app, clear refusals, the right states."""

from __future__ import annotations

import pytest

from panel.backups.models import Backup, BackupTarget
from panel.backups.services import request_backup, request_restore
from panel.core.models import Task
from panel.core.services import ActionRejected
from panel.core.states import AppState

pytestmark = pytest.mark.django_db


@pytest.fixture
def target(tmp_path):
    return BackupTarget.objects.create(
        name="disk", kind="filesystem", path=str(tmp_path), password="pw"
    )


def backup_of(app, target) -> Backup:
    return Backup.objects.create(
        app=app,
        app_label=str(app),
        app_uid=app.id.hex,
        target=target,
        snapshot_id="0123abcd",
        app_version="1.0.0",
    )


def test_a_backup_leaves_the_app_running_and_queues_a_backup_task(make_app, target):
    app = make_app()
    task = request_backup(app, target)
    app.refresh_from_db()
    assert app.state == AppState.RUNNING
    assert task.kind == Task.Kind.BACKUP
    assert task.params == {"target": target.pk, "reason": "manual"}


def test_a_busy_app_refuses_a_backup_and_says_what_it_is_doing(make_app, target):
    app = make_app()
    Task.objects.create(kind=Task.Kind.RESTART, app=app, app_label=str(app))
    with pytest.raises(ActionRejected) as caught:
        request_backup(app, target)
    assert "busy (restart queued)" in caught.value.errors["action"]


def test_a_second_backup_is_refused_while_the_first_is_queued(make_app, target):
    app = make_app()
    request_backup(app, target)
    with pytest.raises(ActionRejected):
        request_backup(app, target)
    assert app.tasks.count() == 1


def test_an_app_being_installed_cannot_be_backed_up(make_app, target):
    app = make_app(state=AppState.INSTALLING)
    with pytest.raises(ActionRejected) as caught:
        request_backup(app, target)
    assert "installing" in caught.value.errors["action"]


def test_a_restore_goes_through_the_restart_states(make_app, target):
    app = make_app()
    task = request_restore(app, backup_of(app, target))
    app.refresh_from_db()
    assert app.state == AppState.PENDING_RESTART
    assert task.kind == Task.Kind.RESTORE


def test_a_restore_of_another_apps_backup_is_refused(make_app, target):
    app, other = make_app("one"), make_app("two")
    with pytest.raises(ActionRejected) as caught:
        request_restore(app, backup_of(other, target))
    assert "not" in caught.value.errors["backup"]
    app.refresh_from_db()
    assert app.state == AppState.RUNNING


def test_a_busy_app_refuses_a_restore_and_keeps_its_state(make_app, target):
    app = make_app()
    backup = backup_of(app, target)
    request_backup(app, target)
    with pytest.raises(ActionRejected):
        request_restore(app, backup)
    app.refresh_from_db()
    assert app.state == AppState.RUNNING


def test_a_backup_survives_its_app_with_the_label_and_id(make_app, target):
    app = make_app()
    backup = backup_of(app, target)
    app_uid, label = app.id.hex, str(app)
    app.delete()
    backup.refresh_from_db()
    assert backup.app is None
    assert (backup.app_uid, backup.app_label) == (app_uid, label)


def test_the_app_configuration_in_a_backup_names_location_aliases_access_and_operators(
    make_app, django_user_model
):
    from django.contrib.auth.models import Group

    from panel.accounts.models import AppAccess
    from panel.accounts.services import set_operated_apps
    from panel.backups.services import app_configuration
    from panel.domains.models import AppAlias

    app = make_app("blog", memory_limit=256 * 1024 * 1024)
    AppAlias.objects.create(app=app, subdomain="www", domain=app.domain, redirect=True)
    alice = django_user_model.objects.create_user("alice", "alice@example.com", "pw")
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    access = AppAccess.objects.create(app=app, mode=AppAccess.Mode.RESTRICTED)
    access.users.add(alice)
    access.groups.add(Group.objects.create(name="family"))
    set_operated_apps(alice, [app], actor=root)

    config = app_configuration(app)
    assert config["location"] == {"subdomain": "blog", "domain": app.domain.name}
    assert config["aliases"] == [{"subdomain": "www", "domain": app.domain.name, "redirect": True}]
    assert config["memory_limit"] == 256 * 1024 * 1024
    assert config["access"] == {"mode": "restricted", "users": ["alice"], "groups": ["family"]}
    assert config["operators"] == ["alice"]
