"""Scheduled runs on real restic repositories (folder targets): which apps are backed up,
that a minute never runs twice, that retention follows the backups and spares apps whose
backup failed, and that failed checks and backups alert the admins."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from panel.backups.models import Backup, BackupTarget
from panel.backups.operations import execute_backup_task
from panel.backups.restic import Restic, build_command, build_env
from panel.backups.scheduled import (
    finish_scheduled_run,
    run_due_schedules,
    run_target_check,
    start_scheduled_backups,
)
from panel.backups.services import backup_app, create_target
from panel.core.models import Event, Task
from panel.core.states import AppState
from panel.monitoring.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def target(target_folder):
    target = create_target(
        name="disk",
        kind="filesystem",
        path=str(target_folder),
        backup_schedule="0 3 * * *",
        keep_daily=1,
        keep_weekly=0,
        keep_monthly=0,
    )
    # As if made yesterday, so today's 03:00 is due.
    BackupTarget.objects.filter(pk=target.pk).update(created_at=timezone.now() - timedelta(days=2))
    target.refresh_from_db()
    return target


def at_three(days_ahead: int = 0, second: int = 5):
    moment = timezone.now() + timedelta(days=days_ahead)
    return moment.replace(hour=3, minute=0, second=second, microsecond=0)


def test_a_due_schedule_queues_backups_of_apps_with_automatic_backups_only_once_a_minute(
    make_app, target, django_capture_on_commit_callbacks
):
    included = make_app("blog")
    excluded = make_app("wiki", automatic_backups=False)
    stopped = make_app("shop", state=AppState.STOPPED)
    busy = make_app("mail")
    Task.objects.create(kind=Task.Kind.RESTART, app=busy, app_label=str(busy))
    installing = make_app("chat", state=AppState.INSTALLING)

    with django_capture_on_commit_callbacks(execute=False):
        assert run_due_schedules(at_three(second=1))["backups"] == ["disk"]
        assert run_due_schedules(at_three(second=40))["backups"] == []
    backed_up = {
        task.app for task in Task.objects.filter(kind=Task.Kind.BACKUP, params__reason="scheduled")
    }
    assert backed_up == {included, stopped}
    assert excluded not in backed_up and installing not in backed_up
    target.refresh_from_db()
    assert target.scheduled_slot == at_three(second=0)
    assert target.scheduled_status == "running"
    assert "skipped" in target.scheduled_message and "mail" in target.scheduled_message


def test_retention_waits_for_the_runs_backups_then_prunes_the_apps_backed_up(
    make_app, target, django_capture_on_commit_callbacks
):
    app = make_app()
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=False):
            [task] = start_scheduled_backups(target)
        deadline = (timezone.now() + timedelta(hours=1)).timestamp()
        # Still queued: retention must not run yet.
        assert finish_scheduled_run(target.pk, [task.pk], deadline) == ([task.pk], [])
        execute_backup_task(task.pk)
        assert finish_scheduled_run(target.pk, [task.pk], deadline) is None

    # keep_daily=1: after each run only that day's newest backup is left.
    [left] = Backup.objects.filter(app=app)
    assert left.reason == Backup.Reason.SCHEDULED
    assert len(Restic(target.repository()).snapshots([f"app:{app.id.hex}"])) == 1
    target.refresh_from_db()
    assert target.scheduled_status == "ok"
    assert "1 of 1 app(s) backed up; keep 1 daily" in target.scheduled_message


def test_a_failed_scheduled_backup_alerts_the_admins_and_prunes_nothing(
    make_app, target, target_folder, django_user_model, django_capture_on_commit_callbacks
):
    django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    app = make_app()
    with django_capture_on_commit_callbacks(execute=False):
        [good] = start_scheduled_backups(target)
    execute_backup_task(good.pk)
    assert Backup.objects.filter(app=app).count() == 1

    # The backup disk is not mounted at the next run.
    shutil.rmtree(target_folder)
    target_folder.mkdir()
    with django_capture_on_commit_callbacks(execute=False):
        [bad] = start_scheduled_backups(target)
    execute_backup_task(bad.pk)
    assert finish_scheduled_run(target.pk, [bad.pk], deadline=0) is None

    bad.refresh_from_db()
    assert bad.state == Task.State.FAILED
    assert Event.objects.filter(action="backup", outcome="failed", app=app).exists()
    assert Notification.objects.filter(kind="backup_failed", app=app).exists()
    assert any("Backup failed" in message.subject for message in mail.outbox)
    assert Backup.objects.filter(app=app).count() == 1
    target.refresh_from_db()
    assert target.scheduled_status == "failed"
    assert "0 of 1 app(s) backed up" in target.scheduled_message


def test_a_due_check_is_queued_once_and_a_damaged_repository_alerts_by_email(
    make_app, target, target_folder, django_user_model, django_capture_on_commit_callbacks
):
    django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    backup_app(make_app(), target)
    BackupTarget.objects.filter(pk=target.pk).update(check_schedule="0 3 * * *")
    with django_capture_on_commit_callbacks(execute=False):
        assert run_due_schedules(at_three(second=1))["checks"] == ["disk"]
        assert run_due_schedules(at_three(second=50))["checks"] == []
    target.refresh_from_db()
    assert target.check_slot == at_three(second=0)

    assert run_target_check(target.pk) == ""
    target.refresh_from_db()
    assert target.check_status == "ok"
    assert not Notification.objects.filter(kind="backup_check_failed").exists()

    for pack in (path for path in (target_folder / "data").rglob("*") if path.is_file()):
        content = bytearray(pack.read_bytes())
        content[10:40] = b"\xff" * 30
        pack.write_bytes(bytes(content))
    assert run_target_check(target.pk) == "repository contains errors"
    target.refresh_from_db()
    assert target.check_status == "failed"
    assert target.check_message == "repository contains errors"
    note = Notification.objects.get(kind="backup_check_failed")
    assert note.title == "Integrity check of backup target disk failed"
    assert Event.objects.filter(action="backup_check", outcome="failed").exists()
    [alert] = [m for m in mail.outbox if "Integrity check" in m.subject]
    assert "repository contains errors" in alert.body


def test_a_second_target_at_the_same_minute_backs_up_the_app_once_the_first_is_done(
    make_app, target, tmp_path, django_capture_on_commit_callbacks
):
    app = make_app()
    other = create_target(name="usb", kind="filesystem", path=str(tmp_path / "usb"))
    with django_capture_on_commit_callbacks(execute=False):
        [first] = start_scheduled_backups(target)
        # The app is busy with the first target's backup: it waits instead of being skipped.
        assert start_scheduled_backups(other) == []
    other.refresh_from_db()
    assert "1 after the backup they are busy with" in other.scheduled_message
    deadline = (timezone.now() + timedelta(hours=1)).timestamp()
    assert finish_scheduled_run(other.pk, [], deadline, [str(app.pk)]) == ([], [str(app.pk)])

    execute_backup_task(first.pk)
    with django_capture_on_commit_callbacks(execute=False):
        pending = finish_scheduled_run(other.pk, [], deadline, [str(app.pk)])
    [second_id], waiting = pending
    assert waiting == []
    execute_backup_task(second_id)
    assert finish_scheduled_run(other.pk, [second_id], deadline, []) is None
    assert Backup.objects.get(app=app, target=other).reason == Backup.Reason.SCHEDULED
    other.refresh_from_db()
    assert other.scheduled_status == "ok"


def test_the_pages_show_each_targets_last_run_and_check_and_the_apps_schedule(
    owner_client, make_app, target, target_folder
):
    from django.urls import reverse
    from django.utils.html import escape

    app = make_app()
    backup_app(app, target)
    for pack in (path for path in (target_folder / "data").rglob("*") if path.is_file()):
        pack.write_bytes(b"\xff" * pack.stat().st_size)
    run_target_check(target.pk)
    page = owner_client.get(reverse("backups:targets")).content.decode()
    target.refresh_from_db()
    assert target.check_status == "failed"
    assert f": Failed<br><small>{escape(target.check_message)}</small>" in page
    app_page = owner_client.get(reverse("core:app_detail", args=[app.pk])).content.decode()
    assert "disk at <code>0 3 * * *</code> UTC" in app_page


@contextmanager
def repository_held(target, target_folder):
    """A real restic backup reading stdin, which holds its lock until stdin closes."""
    holder = subprocess.Popen(
        build_command(target.repository(), "backup", "--stdin", "--host", "other"),
        env=build_env(target.repository()),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not os.listdir(target_folder / "locks") and time.monotonic() < deadline:
            time.sleep(0.1)
        yield
    finally:
        holder.communicate(b"some data", timeout=60)


def test_a_check_while_a_backup_holds_the_repository_waits_instead_of_alerting(
    target, target_folder, django_user_model
):
    django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    with repository_held(target, target_folder):
        assert run_target_check(target.pk, may_defer=True) is None
        target.refresh_from_db()
        assert target.check_status == "" and target.checked_at is None
        assert not Notification.objects.exists()
        # The last attempt does report it, so a lock never hides a check for good.
        assert "already locked" in run_target_check(target.pk, may_defer=False)
        assert Notification.objects.filter(kind="backup_check_failed").exists()
    assert run_target_check(target.pk, may_defer=True) == ""
    target.refresh_from_db()
    assert target.check_status == "ok"


def test_retention_while_a_backup_holds_the_repository_waits_for_it(
    make_app, target, target_folder, django_capture_on_commit_callbacks
):
    app = make_app()
    deadline = (timezone.now() + timedelta(hours=1)).timestamp()
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=False):
            [task] = start_scheduled_backups(target)
        execute_backup_task(task.pk)
        with repository_held(target, target_folder):
            assert finish_scheduled_run(target.pk, [task.pk], deadline) == ([task.pk], [])
        assert finish_scheduled_run(target.pk, [task.pk], deadline) is None
    assert Backup.objects.filter(app=app).count() == 1
    target.refresh_from_db()
    assert target.scheduled_status == "ok"
    assert not Notification.objects.exists()


def test_check_now_queues_a_check_that_the_targets_page_then_reports(
    owner_client, target, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    url = reverse("backups:target_check", args=[target.pk])
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = owner_client.post(url, follow=True)
    assert "Integrity check of disk queued" in response.content.decode()
    assert len(queued) == 1
    target.refresh_from_db()
    assert target.check_status == "running"
    assert Event.objects.filter(action="backup_check_requested").exists()
    # What the queued task runs on the worker.
    assert run_target_check(target.pk, may_defer=True) == ""
    page = owner_client.get(reverse("backups:target_edit", args=[target.pk])).content.decode()
    assert "Ok (No errors found.)" in page
    assert owner_client.get(url).status_code == 405
