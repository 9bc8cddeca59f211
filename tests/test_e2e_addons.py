"""Addons through real Docker, MariaDB, PostgreSQL, Redis and a real Celery worker: what an app
gets, what it cannot reach, what a backup holds, and what uninstall leaves (nothing)."""

from __future__ import annotations

import os
import signal
import time

import psycopg
import pymysql
import pytest
import redis
from django.conf import settings

from addons.models import AddonInstance
from addons.mysql.addon import SERVICE as MYSQL
from addons.postgresql.addon import SERVICE as POSTGRESQL
from addons.redis.addon import container_name as redis_container
from addons.redis.addon import volume_name as redis_volume
from addons.services import (
    app_addon_env,
    backup_app_addons,
    provision_app_addons,
    restore_app_addons,
    start_addon_services,
    update_app_addons,
)
from panel.core.models import AppInstance, Task
from panel.core.reconcile import reconcile_apps
from panel.core.services import install_app, request_app_action
from panel.core.states import AppState
from panel.runtime import services as runtime_services
from panel.runtime.spec import app_resource_names
from tests.conftest import wait_for_task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def names(app):
    return app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)


def install(publish_addon_package, domain, subdomain, package="addonprobe"):
    app = install_app(release=publish_addon_package(package), subdomain=subdomain, domain=domain)
    task = wait_for_task(app.tasks.get().pk, timeout=180)
    app.refresh_from_db()
    return app, task


def uninstall(app):
    return wait_for_task(request_app_action(app, "uninstall").pk, timeout=120)


def container_env(docker_runtime, app) -> dict[str, str]:
    container = docker_runtime.client.containers.get(names(app).container)
    return dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])


def mysql_as(env: dict[str, str], database: str | None = None):
    return pymysql.connect(
        host=MYSQL.admin_address(),
        port=3306,
        user=env["HEARTH_MYSQL_USERNAME"],
        password=env["HEARTH_MYSQL_PASSWORD"],
        database=database if database is not None else env["HEARTH_MYSQL_DATABASE"],
        connect_timeout=5,
        autocommit=True,
    )


def postgresql_as(env: dict[str, str], database: str | None = None):
    return psycopg.connect(
        host=POSTGRESQL.admin_address(),
        port=5432,
        user=env["HEARTH_POSTGRESQL_USERNAME"],
        password=env["HEARTH_POSTGRESQL_PASSWORD"],
        dbname=database or env["HEARTH_POSTGRESQL_DATABASE"],
        connect_timeout=5,
        autocommit=True,
    )


def redis_of(app, password: str | None) -> redis.Redis:
    address = runtime_services.container_address_on(redis_container(app), names(app).network)
    return redis.Redis(host=address, port=6379, password=password, socket_timeout=5)


def can_connect_from(docker_runtime, app, host: str, port: int) -> bool:
    """Open a TCP connection from inside the app's container (bash's /dev/tcp)."""
    code, _ = docker_runtime.exec_in_container(
        names(app).container, ["timeout", "3", "bash", "-c", f"exec 3<>/dev/tcp/{host}/{port}"]
    )
    return code == 0


def mysql_admin():
    return pymysql.connect(
        host=MYSQL.admin_address(),
        user="hearth_admin",
        password=MYSQL.admin_password(),
        autocommit=True,
    )


def postgresql_admin():
    return psycopg.connect(
        host=POSTGRESQL.admin_address(),
        user="postgres",
        password=POSTGRESQL.admin_password(),
        dbname="postgres",
        autocommit=True,
    )


def leftovers(docker_runtime, app) -> list[str]:
    """Everything of the app still anywhere: databases, users, roles, containers, networks."""
    found = []
    hexid = app.id.hex
    with mysql_admin() as connection, connection.cursor() as cursor:
        cursor.execute("SHOW DATABASES LIKE %s", (f"%{hexid}%",))
        found += [f"mysql database {row[0]}" for row in cursor.fetchall()]
        cursor.execute("SELECT user FROM mysql.user WHERE user LIKE %s", (f"%{hexid}%",))
        found += [f"mysql user {row[0]}" for row in cursor.fetchall()]
    with postgresql_admin() as connection:
        rows = connection.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"%{hexid}%",)
        ).fetchall()
        found += [f"postgresql database {row[0]}" for row in rows]
        rows = connection.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (f"%{hexid}%",)
        ).fetchall()
        found += [f"postgresql role {row[0]}" for row in rows]
    resources = docker_runtime.app_resources(hexid)
    found += [f"container {c}" for c in resources.containers]
    found += [f"volume {v}" for v in resources.volumes]
    found += [f"network {n}" for n in resources.networks]
    client = docker_runtime.client
    # Also by name: a volume that lost its labels would escape the label search.
    found += [
        f"volume {v.name}"
        for v in client.volumes.list()
        if hexid[:12] in v.name and v.name not in resources.volumes
    ]
    for service in (MYSQL.container, POSTGRESQL.container):
        networks = client.containers.get(service).attrs["NetworkSettings"]["Networks"]
        found += [f"{service} still on {n}" for n in networks if hexid[:12] in n]
    found += [f"addon row {row}" for row in AddonInstance.objects.filter(app_id=app.pk)]
    return found


def test_an_app_gets_its_addons_as_env_uses_them_and_uninstall_leaves_nothing(
    worker, addon_services, publish_addon_package, domain, docker_runtime
):
    app, task = install(publish_addon_package, domain, "probe")
    assert task.state == Task.State.SUCCEEDED, f"{task.error}\n{task.log}"
    assert "Provisioned mysql" in task.log
    env = container_env(docker_runtime, app)
    for name in ("MYSQL_URL", "POSTGRESQL_URL", "REDIS_URL", "MAIL_SMTP_SERVER", "MAIL_FROM"):
        assert env[f"HEARTH_{name}"] == env[f"CLOUDRON_{name}"]
    assert env["HEARTH_MYSQL_HOST"] == "mysql"
    assert env["HEARTH_MYSQL_URL"] == (
        f"mysql://{env['HEARTH_MYSQL_USERNAME']}:{env['HEARTH_MYSQL_PASSWORD']}"
        f"@mysql:3306/{env['HEARTH_MYSQL_DATABASE']}"
    )
    assert env["HEARTH_POSTGRESQL_HOST"] == "postgresql"
    assert env["HEARTH_REDIS_HOST"] == "redis"
    assert len(env["HEARTH_REDIS_PASSWORD"]) >= 32
    assert env["HEARTH_MAIL_FROM"] == "probe.app@localhost"

    with mysql_as(env) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE notes (body TEXT)")
        cursor.execute("INSERT INTO notes VALUES ('hello')")
    with postgresql_as(env) as connection:
        connection.execute("CREATE TABLE notes (body text)")
    assert redis_of(app, env["HEARTH_REDIS_PASSWORD"]).set("k", "v")
    with pytest.raises(redis.AuthenticationError):
        redis_of(app, None).set("k", "v")

    # The app reaches its services by the names in its environment, on its own network.
    for host, port in (("mysql", 3306), ("postgresql", 5432), ("redis", 6379)):
        assert can_connect_from(docker_runtime, app, host, port), f"{host}:{port}"

    # Service containers are health-checked by Docker and restart unless stopped.
    for service in (MYSQL.container, POSTGRESQL.container, redis_container(app)):
        attrs = docker_runtime.client.containers.get(service).attrs
        assert attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
        assert attrs["Config"]["Healthcheck"]["Test"][0] == "CMD-SHELL"
        assert attrs["Config"]["Labels"]["io.hearth.role"] == "addon-service"
        assert attrs["HostConfig"]["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in attrs["HostConfig"]["SecurityOpt"]
        assert attrs["HostConfig"]["PortBindings"] in (None, {})  # reached by network only

    # Provisioning again (the retry path) changes nothing the app already relies on.
    provision_app_addons(app)
    again = {f"HEARTH_{name}": value for name, value in app_addon_env(app).items()}
    assert again.items() <= env.items()
    with mysql_as(env) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT body FROM notes")
        assert cursor.fetchall() == (("hello",),)

    # The periodic reconcile knows the services and the app's redis are not orphans.
    assert reconcile_apps().removed_containers == []
    for service in (MYSQL.container, POSTGRESQL.container, redis_container(app)):
        assert docker_runtime.container_status(service).running, service

    assert uninstall(app).state == Task.State.SUCCEEDED
    assert not AppInstance.objects.filter(pk=app.pk).exists()
    assert leftovers(docker_runtime, app) == []


def test_one_app_cannot_open_or_reach_another_apps_addons_or_the_panels_services(
    worker, addon_services, publish_addon_package, domain, docker_runtime
):
    app_a, task_a = install(publish_addon_package, domain, "alpha")
    app_b, task_b = install(publish_addon_package, domain, "beta")
    assert task_a.state == task_b.state == Task.State.SUCCEEDED, (task_a.error, task_b.error)
    env_a = container_env(docker_runtime, app_a)
    env_b = container_env(docker_runtime, app_b)

    with pytest.raises(pymysql.err.OperationalError, match="Access denied"):
        mysql_as(env_a, database=env_b["HEARTH_MYSQL_DATABASE"])
    with mysql_as(env_a) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW DATABASES")
        visible = {row[0] for row in cursor.fetchall()}
    assert env_b["HEARTH_MYSQL_DATABASE"] not in visible
    with pytest.raises(psycopg.OperationalError):
        postgresql_as(env_a, database=env_b["HEARTH_POSTGRESQL_DATABASE"])
    with pytest.raises(psycopg.OperationalError):
        postgresql_as(env_a, database="postgres")
    with pytest.raises(redis.AuthenticationError):
        redis_of(app_b, env_a["HEARTH_REDIS_PASSWORD"]).get("k")

    network_b = names(app_b).network
    b_app_address = runtime_services.container_address_on(names(app_b).container, network_b)
    b_redis_address = runtime_services.container_address_on(redis_container(app_b), network_b)
    gateway_a = runtime_services.network_gateway(names(app_a).network)
    assert can_connect_from(docker_runtime, app_b, b_redis_address, 6379)  # the probe works
    assert not can_connect_from(docker_runtime, app_a, b_app_address, 8000)
    assert not can_connect_from(docker_runtime, app_a, b_redis_address, 6379)
    # Nor through the shared database server's leg on app B's network.
    mysql_on_b = runtime_services.container_address_on(MYSQL.container, network_b)
    assert not can_connect_from(docker_runtime, app_a, mysql_on_b, 3306)
    # The panel's Redis, the registry and the panel itself listen on the host.
    for port in (6379, 5000, 8001):
        assert not can_connect_from(docker_runtime, app_a, gateway_a, port), port
    # The mail relay port is the one host port apps may reach.
    assert env_a["HEARTH_MAIL_SMTP_SERVER"] == gateway_a

    uninstall(app_a)
    uninstall(app_b)


def test_backup_then_restore_brings_back_rows_keys_and_files_with_their_owners(
    worker, addon_services, publish_addon_package, domain, docker_runtime, tmp_path
):
    app, task = install(publish_addon_package, domain, "saved")
    assert task.state == Task.State.SUCCEEDED, task.error
    env = container_env(docker_runtime, app)
    with mysql_as(env) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE posts (id INT PRIMARY KEY, title TEXT)")
        cursor.executemany("INSERT INTO posts VALUES (%s, %s)", [(1, "één"), (2, "two")])
    with postgresql_as(env) as connection:
        connection.execute("CREATE TABLE posts (id int PRIMARY KEY, title text)")
        connection.execute("INSERT INTO posts VALUES (1, 'first'), (2, 'second')")
    cache = redis_of(app, env["HEARTH_REDIS_PASSWORD"])
    cache.set("visits", 42)
    code, _ = docker_runtime.exec_in_container(
        names(app).container,
        [
            "sh",
            "-c",
            "mkdir -p /app/data/up && echo kept > /app/data/up/f && chmod 640 /app/data/up/f",
        ],
    )
    assert code == 0

    staging = tmp_path / "staging"
    assert sorted(backup_app_addons(app, staging)) == [
        "localstorage",
        "mysql",
        "postgresql",
        "redis",
        "scheduler",
        "sendmail",
    ]
    assert (staging / "mysql" / "mysqldump.sql").stat().st_size > 0

    # Lose everything.
    with mysql_as(env) as connection, connection.cursor() as cursor:
        cursor.execute("DROP TABLE posts")
    with postgresql_as(env) as connection:
        connection.execute("DROP TABLE posts")
    cache.flushall()
    docker_runtime.exec_in_container(names(app).container, ["sh", "-c", "rm -rf /app/data/*"])

    restore_app_addons(app, staging)
    with mysql_as(env) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id, title FROM posts ORDER BY id")
        assert cursor.fetchall() == ((1, "één"), (2, "two"))
    with postgresql_as(env) as connection:
        rows = connection.execute("SELECT id, title FROM posts ORDER BY id").fetchall()
        assert rows == [(1, "first"), (2, "second")]
        owner = connection.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'posts'"
        ).fetchone()[0]
        assert owner == env["HEARTH_POSTGRESQL_USERNAME"]
    assert redis_of(app, env["HEARTH_REDIS_PASSWORD"]).get("visits") == b"42"
    code, output = docker_runtime.exec_in_container(
        names(app).container, ["stat", "-c", "%u:%g %a %n", "/app/data/up/f", "/app/data/up"]
    )
    assert code == 0
    assert "1000:1000 640 /app/data/up/f" in output
    uninstall(app)


def test_a_service_down_halfway_leaves_no_database_behind_and_retry_then_succeeds(
    worker, addon_services, publish_addon_package, domain, docker_runtime
):
    docker_runtime.stop_container(POSTGRESQL.container)
    try:
        app, task = install(publish_addon_package, domain, "halfway")
    finally:
        start_addon_services()
    assert task.state == Task.State.FAILED
    assert app.state == AppState.ERROR
    assert "postgresql" in app.error
    # mysql (provisioned before postgresql) was undone; redis (after it) never made. What the
    # app keeps until uninstall: its network and data volume, and the row that says postgresql
    # may need cleaning once its service is back (the retry or uninstall does it).
    left = leftovers(docker_runtime, app)
    assert sorted(left) == sorted(
        [
            f"network {names(app).network}",
            f"volume {names(app).volume}",
            f"addon row postgresql of {app.pk}",
        ]
    )
    assert app.addons.get().state == AddonInstance.State.PROVISIONING

    retry = wait_for_task(request_app_action(app, "retry").pk, timeout=180)
    assert retry.state == Task.State.SUCCEEDED, retry.error
    env = container_env(docker_runtime, app)
    with postgresql_as(env) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)
    uninstall(app)
    assert leftovers(docker_runtime, app) == []


def test_an_uninstall_that_meets_a_service_down_fails_clearly_and_a_second_one_finishes(
    worker, addon_services, publish_addon_package, domain, docker_runtime
):
    app, task = install(publish_addon_package, domain, "leaving")
    assert task.state == Task.State.SUCCEEDED, task.error
    docker_runtime.stop_container(POSTGRESQL.container)
    try:
        failed = uninstall(app)
    finally:
        start_addon_services()
    assert failed.state == Task.State.FAILED
    assert "PostgreSQL" in failed.error
    app.refresh_from_db()
    assert app.state == AppState.ERROR
    assert uninstall(app).state == Task.State.SUCCEEDED
    assert leftovers(docker_runtime, app) == []


def test_addon_options_multiple_databases_no_password_locale_and_display_name(
    worker, addon_services, publish_addon_package, domain, docker_runtime
):
    app, task = install(publish_addon_package, domain, "options", package="addonoptions")
    assert task.state == Task.State.SUCCEEDED, task.error
    env = container_env(docker_runtime, app)
    prefix = env["HEARTH_MYSQL_DATABASE_PREFIX"]
    assert "HEARTH_MYSQL_DATABASE" not in env
    with mysql_as(env, database="") as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{prefix}extra`")
        with pytest.raises(pymysql.err.OperationalError, match="Access denied"):
            cursor.execute("CREATE DATABASE `someone_else`")
    with postgresql_as(env) as connection:
        collation = connection.execute(
            "SELECT datcollate FROM pg_database WHERE datname = current_database()"
        ).fetchone()[0]
    assert collation == "en_US.UTF-8"
    assert env["HEARTH_REDIS_PASSWORD"] == ""
    assert env["HEARTH_REDIS_URL"] == "redis://redis:6379"
    assert redis_of(app, None).set("open", "yes")
    assert env["HEARTH_MAIL_FROM_DISPLAY_NAME"] == "Addon Options Probe"
    uninstall(app)
    assert leftovers(docker_runtime, app) == []


def test_service_data_survives_recreating_the_service_container(
    worker, addon_services, publish_addon_package, domain, docker_runtime
):
    app, task = install(publish_addon_package, domain, "durable")
    assert task.state == Task.State.SUCCEEDED, task.error
    env = container_env(docker_runtime, app)
    with mysql_as(env) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE t (v INT)")
        cursor.execute("INSERT INTO t VALUES (7)")
    docker_runtime.remove_container(MYSQL.container)
    start_addon_services()
    with mysql_as(env) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT v FROM t")
        assert cursor.fetchall() == ((7,),)
    # The new container joined the app's network again, under the same name.
    assert can_connect_from(docker_runtime, app, "mysql", 3306)

    # A crashed server comes back by itself (restart policy), with its data.
    container = docker_runtime.client.containers.get(MYSQL.container)
    os.kill(container.attrs["State"]["Pid"], signal.SIGKILL)
    _wait_until(lambda: docker_runtime.container_status(MYSQL.container).restart_count >= 1)
    runtime_services.wait_until_ready(MYSQL.container, list(MYSQL.ready_probe))
    with mysql_as(env) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT v FROM t")
        assert cursor.fetchall() == ((7,),)
    uninstall(app)


def test_updating_to_a_manifest_with_other_addons_provisions_new_and_removes_dropped(
    worker, addon_services, publish_addon_package, domain, docker_runtime, tmp_path
):
    app, task = install(publish_addon_package, domain, "grows", package="addonoptions")
    assert task.state == Task.State.SUCCEEDED, task.error
    env = container_env(docker_runtime, app)
    with postgresql_as(env) as connection:
        connection.execute("CREATE TABLE kept (v int)")
    manifest = dict(app.manifest)
    manifest["addons"] = {"mysql": {"multipleDatabases": True}, "localstorage": {}}
    app.manifest = manifest
    app.save(update_fields=["manifest"])
    removed = update_app_addons(app, tmp_path / "before-update")
    assert sorted(removed) == ["postgresql", "redis", "sendmail"]
    assert sorted(app.addons.values_list("addon", flat=True)) == ["localstorage", "mysql"]
    # The dropped database was backed up before it went.
    assert (tmp_path / "before-update" / "postgresql" / "pgdump.custom").stat().st_size > 0
    assert (tmp_path / "before-update" / "redis" / "dump.rdb").exists()
    assert not docker_runtime.container_status(redis_container(app)).exists
    assert redis_volume(app) not in {v.name for v in docker_runtime.client.volumes.list()}
    with postgresql_admin() as connection:
        assert not connection.execute(
            "SELECT 1 FROM pg_database WHERE datname LIKE %s", (f"%{app.id.hex}%",)
        ).fetchone()

    # The next version asks for redis again: it is provisioned then, with fresh credentials.
    manifest["addons"] = {**manifest["addons"], "redis": {}}
    app.manifest = manifest
    app.save(update_fields=["manifest"])
    assert update_app_addons(app, tmp_path / "second-update") == []
    password = app.addons.get(addon="redis").credentials["password"]
    assert len(password) >= 32
    assert redis_of(app, password).ping()
    uninstall(app)
    assert leftovers(docker_runtime, app) == []


def _wait_until(predicate, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not reached")
