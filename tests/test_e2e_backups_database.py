"""Backups of a database app through the real worker, MariaDB, PostgreSQL, Docker and restic:
rows deleted after a backup come back with a restore; a clone of the backup is a second app
with the same rows, its own credentials and databases, its own DNS record, and writes in one
never show in the other. Uninstalling the clone leaves nothing of it and the source intact."""

from __future__ import annotations

import pytest
from django.conf import settings

from panel.backups.clone import request_clone
from panel.backups.models import Backup
from panel.backups.services import create_target, request_backup, request_restore
from panel.core.models import AppInstance, Event, Task
from panel.core.services import install_app, request_app_action
from panel.core.states import AppState
from panel.domains.models import Domain
from panel.domains.providers.resolve import lookup
from panel.runtime.spec import app_resource_names
from tests.conftest import wait_for_task
from tests.test_e2e_addons import container_env, leftovers, mysql_as, postgresql_as

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def mysql_rows(env) -> list[str]:
    with mysql_as(env) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT body FROM notes ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def mysql_write(env, *statements: str) -> None:
    with mysql_as(env) as connection, connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def postgresql_rows(env) -> list[str]:
    with postgresql_as(env) as connection:
        return [row[0] for row in connection.execute("SELECT body FROM notes ORDER BY id")]


def postgresql_write(env, *statements: str) -> None:
    with postgresql_as(env) as connection:
        for statement in statements:
            connection.execute(statement)


def data_file(docker_runtime, app) -> str:
    name = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    code, output = docker_runtime.exec_in_container(name, ["cat", "/app/data/kept.txt"])
    assert code == 0, output
    return output.strip()


def test_rows_come_back_after_a_restore_and_a_clone_is_an_independent_copy(
    worker, addon_services, publish_addon_package, domain, docker_runtime, target_folder, bind
):
    source = install_app(
        release=publish_addon_package("addonprobe"), subdomain="dbsource", domain=domain
    )
    task = wait_for_task(source.tasks.get().pk, timeout=240)
    assert task.state == Task.State.SUCCEEDED, f"{task.error}\n{task.log}"
    source.refresh_from_db()
    env = container_env(docker_runtime, source)
    mysql_write(
        env,
        "CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT)",
        "INSERT INTO notes (body) VALUES ('first'), ('second')",
    )
    postgresql_write(
        env,
        "CREATE TABLE notes (id serial PRIMARY KEY, body text)",
        "INSERT INTO notes (body) VALUES ('alpha'), ('beta')",
    )
    name = app_resource_names(settings.HEARTH_INSTANCE, source.id.hex).container
    docker_runtime.exec_in_container(name, ["sh", "-c", "echo from-source > /app/data/kept.txt"])

    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    task = wait_for_task(request_backup(source, target).pk, timeout=240)
    assert task.state == Task.State.SUCCEEDED, task.error
    backup = Backup.objects.get(app=source, reason=Backup.Reason.MANUAL)

    # Destroy the rows, then restore: they are back, in both databases.
    mysql_write(env, "DELETE FROM notes")
    postgresql_write(env, "DELETE FROM notes")
    assert mysql_rows(env) == [] and postgresql_rows(env) == []
    task = wait_for_task(request_restore(source, backup).pk, timeout=300)
    assert task.state == Task.State.SUCCEEDED, f"{task.error}\n{task.log}"
    source.refresh_from_db()
    assert source.state == AppState.RUNNING
    assert mysql_rows(env) == ["first", "second"]
    assert postgresql_rows(env) == ["alpha", "beta"]

    # The clone goes to a domain whose records Hearth writes through its DNS provider.
    elsewhere = Domain.objects.create(
        name="clones.hearth.test",
        provider="rfc2136",
        provider_config=bind.provider_config(zone=bind.zone),
        ipv4="127.0.0.1",
    )
    clone = request_clone(backup, subdomain="dbclone", domain=elsewhere)
    task = wait_for_task(clone.tasks.get().pk, timeout=300)
    assert task.state == Task.State.SUCCEEDED, f"{task.error}\n{task.log}"
    assert task.kind == Task.Kind.CLONE
    clone.refresh_from_db()
    assert clone.state == AppState.RUNNING
    assert (clone.version, clone.image, clone.manifest) == (
        source.version,
        source.image,
        source.manifest,
    )
    assert lookup("dbclone.clones.hearth.test", "A", bind.server) == ["127.0.0.1"]

    clone_env = container_env(docker_runtime, clone)
    for variable in ("MYSQL_USERNAME", "MYSQL_PASSWORD", "MYSQL_DATABASE"):
        assert clone_env[f"HEARTH_{variable}"] != env[f"HEARTH_{variable}"], variable
    for variable in ("POSTGRESQL_USERNAME", "POSTGRESQL_PASSWORD", "POSTGRESQL_DATABASE"):
        assert clone_env[f"HEARTH_{variable}"] != env[f"HEARTH_{variable}"], variable
    assert clone_env["HEARTH_APP_DOMAIN"] == "dbclone.clones.hearth.test"
    assert mysql_rows(clone_env) == ["first", "second"]
    assert postgresql_rows(clone_env) == ["alpha", "beta"]
    assert data_file(docker_runtime, clone) == "from-source"

    # Independent: writes in either app stay in that app.
    mysql_write(clone_env, "INSERT INTO notes (body) VALUES ('only in the clone')")
    postgresql_write(clone_env, "INSERT INTO notes (body) VALUES ('only in the clone')")
    mysql_write(env, "INSERT INTO notes (body) VALUES ('only in the source')")
    postgresql_write(env, "DELETE FROM notes WHERE body = 'alpha'")
    assert mysql_rows(env) == ["first", "second", "only in the source"]
    assert postgresql_rows(env) == ["beta"]
    assert mysql_rows(clone_env) == ["first", "second", "only in the clone"]
    assert postgresql_rows(clone_env) == ["alpha", "beta", "only in the clone"]
    # The source's credentials open nothing of the clone.
    with pytest.raises(Exception, match="denied"):
        mysql_as(env, database=clone_env["HEARTH_MYSQL_DATABASE"])

    source.refresh_from_db()
    assert source.state == AppState.RUNNING
    actions = set(Event.objects.filter(app=clone).values_list("action", flat=True))
    assert {"clone_requested", "clone"} <= actions

    clone_id = clone.pk
    task = wait_for_task(request_app_action(clone, "uninstall").pk, timeout=180)
    assert task.state == Task.State.SUCCEEDED, task.error
    assert not AppInstance.objects.filter(pk=clone_id).exists()
    assert leftovers(docker_runtime, clone) == []
    assert lookup("dbclone.clones.hearth.test", "A", bind.server) == []
    assert mysql_rows(env) == ["first", "second", "only in the source"]
    assert wait_for_task(request_app_action(source, "uninstall").pk, timeout=180).state == (
        Task.State.SUCCEEDED
    )
