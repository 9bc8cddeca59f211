"""What a worker that starts after another died in the middle of a restore makes of it (the
kill itself is tested end to end in test_e2e_backups_restore_kill.py)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from panel.backups.models import Backup, BackupTarget
from panel.core.models import Event, Task
from panel.core.operations import recover_interrupted_tasks

pytestmark = pytest.mark.django_db


def _interrupted_restore(app, percent: int) -> Task:
    return Task.objects.create(
        kind=Task.Kind.RESTORE,
        app=app,
        state=Task.State.RUNNING,
        worker="w1@host",
        percent=percent,
        started_at=timezone.now(),
        params={"backup": 1},
    )


def test_a_stopped_app_whose_restore_never_touched_it_can_be_started_again(
    make_app, docker_runtime
):
    app = make_app("quiet", state="restarting")  # no container: it was stopped
    task = _interrupted_restore(app, 30)
    assert recover_interrupted_tasks("w1@host") == 1
    task.refresh_from_db()
    app.refresh_from_db()
    assert task.state == Task.State.FAILED
    assert app.state == "error"
    assert "before the restore changed anything" in app.error and "Start it" in app.error


def test_a_restore_stopped_while_replacing_data_names_the_pre_restore_backup(
    make_app, docker_runtime
):
    app = make_app("busy", state="restarting")
    task = _interrupted_restore(app, 60)
    target = BackupTarget.objects.create(name="disk", kind="filesystem", path="/x", password="k")
    Backup.objects.create(
        app=app,
        app_label=str(app),
        app_uid=app.id.hex,
        target=target,
        snapshot_id="feedbeef99",
        reason=Backup.Reason.PRE_RESTORE,
    )
    assert recover_interrupted_tasks("w1@host") == 1
    task.refresh_from_db()
    app.refresh_from_db()
    assert app.state == "error"
    assert "restore again" in task.error and "pre-restore backup feedbeef" in task.error
    assert app.error == task.error
    assert Event.objects.filter(app=app, action="restore", outcome="failed").exists()
