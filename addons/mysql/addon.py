"""mysql: a database and a user on the shared MariaDB server, per app."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pymysql

from addons.base import Addon, AddonError
from addons.models import AddonInstance
from addons.registry import register
from addons.shared_service import SharedService
from panel.core.models import AppInstance
from panel.runtime import services as runtime_services
from panel.runtime.containers import RuntimeFailure

SERVICE = SharedService(
    kind="mysql",
    port=3306,
    data_path="/var/lib/mysql",
    health_command="mariadb-admin ping --silent",
    ready_probe=("mariadb", "-e", "SELECT 1"),
    memory_limit=512 * 1024 * 1024,
)
DUMP_FILE = "mysqldump.sql"
RETARGETED_FILE = "mysqldump.retargeted.sql"
# A backticked database name of an app (db<32 hex>, or db<32 hex>_<name> with
# multipleDatabases) as mariadb-dump writes it in CREATE DATABASE, USE and DROP DATABASE.
DUMPED_DATABASE = re.compile(rb"`db([0-9a-f]{32})(?=[`_])")


def database_name(app: AppInstance) -> str:
    return f"db{app.id.hex}"


def _quote_identifier(name: str) -> str:
    # Names are made here from hex ids, never from user input; quoting is belt and braces.
    return "`" + name.replace("`", "``") + "`"


def retarget_dump(dump: Path, app_hex_id: str, retargeted: Path) -> Path:
    """The dump to load into this app's databases: `dump` itself when it was taken of this
    app, else a copy whose statements name this app's databases (and user, in DEFINER
    clauses) instead of the app it was taken of, as in a clone or an import.

    mariadb-dump --databases writes DROP DATABASE, CREATE DATABASE and USE with the source's
    names: loaded unchanged, a clone's restore would replace the source app's database. Only
    statement lines are rewritten; row data (INSERT lines) is copied byte for byte.
    """
    source = None
    with dump.open("rb") as lines:
        for line in lines:
            if line.startswith(b"INSERT INTO"):
                continue
            found = DUMPED_DATABASE.search(line)
            if found:
                source = found.group(1)
                break
    if source is None or source == app_hex_id.encode():
        return dump
    old, new = b"`db" + source, b"`db" + app_hex_id.encode()
    with dump.open("rb") as lines, retargeted.open("wb") as out:
        for line in lines:
            if not line.startswith(b"INSERT INTO"):
                line = line.replace(old + b"`", new + b"`").replace(old + b"_", new + b"_")
            out.write(line)
    return retargeted


@register
class MySQLAddon(Addon):
    name = "mysql"
    description = "A MariaDB database and a user with rights on that database only."
    variables = (
        "MYSQL_URL",
        "MYSQL_USERNAME",
        "MYSQL_PASSWORD",
        "MYSQL_HOST",
        "MYSQL_PORT",
        "MYSQL_DATABASE",
        "MYSQL_DATABASE_PREFIX",
    )
    options = {
        "multipleDatabases": "the app may create databases whose names start with "
        "MYSQL_DATABASE_PREFIX (then MYSQL_DATABASE is not set)",
    }

    def start_service(self) -> None:
        SERVICE.start()

    def service_containers(self) -> list[str]:
        return [SERVICE.container]

    def _connect(self) -> pymysql.connections.Connection:
        try:
            return pymysql.connect(
                host=SERVICE.admin_address(),
                port=SERVICE.port,
                user="hearth_admin",
                password=SERVICE.admin_password(),
                connect_timeout=5,
                autocommit=True,
            )
        except (pymysql.MySQLError, RuntimeFailure) as exc:
            raise AddonError(f"the MySQL service does not answer: {exc}") from None

    def provision(self, app: AppInstance, instance: AddonInstance) -> None:
        database = database_name(app)
        instance.ensure_credentials({"username": database, "password": secrets.token_hex(24)})
        username = instance.credentials["username"]
        password = instance.credentials["password"]
        multiple = bool(instance.options.get("multipleDatabases"))
        connection = self._connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (username, password)
                )
                # Re-provisioning (retry) resets the password to the recorded one.
                cursor.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (username, password))
                if multiple:
                    # The grant pattern uses LIKE syntax: "_" escaped so the prefix is literal,
                    # and "%" doubled because pymysql formats the query with the % operator.
                    pattern = f"{database}\\_%%"
                    cursor.execute(
                        f"GRANT ALL PRIVILEGES ON {_quote_identifier(pattern)}.* TO %s@'%%'",
                        (username,),
                    )
                else:
                    cursor.execute(
                        f"CREATE DATABASE IF NOT EXISTS {_quote_identifier(database)}"
                        " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                    )
                    cursor.execute(
                        f"GRANT ALL PRIVILEGES ON {_quote_identifier(database)}.* TO %s@'%%'",
                        (username,),
                    )
        except pymysql.MySQLError as exc:
            raise AddonError(f"creating the MySQL database failed: {exc}") from None
        finally:
            connection.close()
        SERVICE.attach(app.id.hex)

    def env(self, app: AppInstance, instance: AddonInstance) -> dict[str, str]:
        username = instance.credentials["username"]
        password = instance.credentials["password"]
        database = database_name(app)
        values = {
            "MYSQL_USERNAME": username,
            "MYSQL_PASSWORD": password,
            "MYSQL_HOST": SERVICE.hostname,
            "MYSQL_PORT": str(SERVICE.port),
        }
        base_url = f"mysql://{username}:{password}@{SERVICE.hostname}:{SERVICE.port}"
        if instance.options.get("multipleDatabases"):
            values["MYSQL_DATABASE_PREFIX"] = f"{database}_"
            values["MYSQL_URL"] = f"{base_url}/"
        else:
            values["MYSQL_DATABASE"] = database
            values["MYSQL_URL"] = f"{base_url}/{database}"
        return values

    def _databases(self, app: AppInstance, instance: AddonInstance) -> list[str]:
        database = database_name(app)
        if not instance.options.get("multipleDatabases"):
            return [database]
        connection = self._connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute("SHOW DATABASES LIKE %s", (f"{database}\\_%",))
                return [row[0] for row in cursor.fetchall()]
        finally:
            connection.close()

    def backup(self, app: AppInstance, instance: AddonInstance, staging: Path) -> None:
        # As root over the server's own socket (no password on a command line); --databases
        # so a multi-database app gets its CREATE DATABASE statements back on restore.
        databases = self._databases(app, instance)
        if not databases:
            (staging / DUMP_FILE).write_text("")
            return
        runtime_services.exec_to_file(
            SERVICE.container,
            [
                "mariadb-dump",
                "--single-transaction",
                "--routines",
                "--triggers",
                "--events",
                "--add-drop-database",
                "--databases",
                *databases,
            ],
            staging / DUMP_FILE,
        )

    def restore(self, app: AppInstance, instance: AddonInstance, staging: Path) -> None:
        self.provision(app, instance)
        for database in self._databases(app, instance):
            self._drop_database(database)
        dump = retarget_dump(staging / DUMP_FILE, app.id.hex, staging / RETARGETED_FILE)
        if dump.stat().st_size:
            runtime_services.exec_from_file(SERVICE.container, ["mariadb"], dump)
        # The dump re-creates the databases; make sure the single-database grant still holds.
        self.provision(app, instance)

    def _drop_database(self, database: str) -> None:
        connection = self._connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {_quote_identifier(database)}")
        finally:
            connection.close()

    def teardown(self, app: AppInstance, instance: AddonInstance) -> None:
        username = instance.credentials.get("username") or database_name(app)
        databases = self._databases(app, instance)
        connection = self._connect()
        try:
            with connection.cursor() as cursor:
                for database in {database_name(app), *databases}:
                    cursor.execute(f"DROP DATABASE IF EXISTS {_quote_identifier(database)}")
                cursor.execute("DROP USER IF EXISTS %s@'%%'", (username,))
        except pymysql.MySQLError as exc:
            raise AddonError(f"removing the MySQL database failed: {exc}") from None
        finally:
            connection.close()
        SERVICE.detach(app.id.hex)
