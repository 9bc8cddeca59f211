"""postgresql: a database and a role on the shared PostgreSQL server, per app."""

from __future__ import annotations

import secrets
from pathlib import Path

import psycopg
from psycopg import sql

from addons.base import Addon, AddonError
from addons.models import AddonInstance
from addons.registry import register
from addons.shared_service import SharedService
from panel.core.models import AppInstance
from panel.runtime import services as runtime_services
from panel.runtime.containers import RuntimeFailure

SERVICE = SharedService(
    kind="postgresql",
    port=5432,
    data_path="/var/lib/postgresql/data",
    health_command="pg_isready -q -h /run/postgresql",
    ready_probe=(
        "setpriv",
        "--reuid=postgres",
        "--regid=postgres",
        "--init-groups",
        "psql",
        "-h",
        "/run/postgresql",
        "-Atc",
        "SELECT 1",
    ),
    memory_limit=512 * 1024 * 1024,
)
DUMP_FILE = "pgdump.custom"
DEFAULT_LOCALE = "C.UTF-8"


def database_name(app: AppInstance) -> str:
    # The role is named like the database: pg_hba.conf's "sameuser" rule lets a role open the
    # database of the same name and nothing else.
    return f"db{app.id.hex}"


@register
class PostgreSQLAddon(Addon):
    name = "postgresql"
    description = "A PostgreSQL database and a role that owns it and can open nothing else."
    variables = (
        "POSTGRESQL_URL",
        "POSTGRESQL_USERNAME",
        "POSTGRESQL_PASSWORD",
        "POSTGRESQL_HOST",
        "POSTGRESQL_PORT",
        "POSTGRESQL_DATABASE",
    )
    options = {
        "locale": f'collation and character type of the database (default "{DEFAULT_LOCALE}")'
    }

    def start_service(self) -> None:
        SERVICE.start()

    def service_containers(self) -> list[str]:
        return [SERVICE.container]

    def _connect(self) -> psycopg.Connection:
        try:
            return psycopg.connect(
                host=SERVICE.admin_address(),
                port=SERVICE.port,
                user="postgres",
                password=SERVICE.admin_password(),
                dbname="postgres",
                connect_timeout=5,
                autocommit=True,
            )
        except (psycopg.Error, RuntimeFailure) as exc:
            raise AddonError(f"the PostgreSQL service does not answer: {exc}") from None

    def provision(self, app: AppInstance, instance: AddonInstance) -> None:
        name = database_name(app)
        instance.ensure_credentials({"username": name, "password": secrets.token_hex(24)})
        password = instance.credentials["password"]
        locale = instance.options.get("locale") or DEFAULT_LOCALE
        role = sql.Identifier(name)
        try:
            with self._connect() as connection:
                exists = connection.execute(
                    "SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)
                ).fetchone()
                verb = sql.SQL("ALTER" if exists else "CREATE")
                connection.execute(
                    sql.SQL("{} ROLE {} LOGIN PASSWORD {}").format(
                        verb, role, sql.Literal(password)
                    )
                )
                has_database = connection.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
                ).fetchone()
                if not has_database:
                    connection.execute(
                        sql.SQL(
                            "CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING 'UTF8'"
                            " LC_COLLATE {} LC_CTYPE {}"
                        ).format(role, role, sql.Literal(locale), sql.Literal(locale))
                    )
                # pg_hba.conf already refuses other roles; this keeps the catalog saying so.
                connection.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(role))
        except psycopg.Error as exc:
            raise AddonError(f"creating the PostgreSQL database failed: {exc}") from None
        SERVICE.attach(app.id.hex)

    def env(self, app: AppInstance, instance: AddonInstance) -> dict[str, str]:
        username = instance.credentials["username"]
        password = instance.credentials["password"]
        database = database_name(app)
        return {
            "POSTGRESQL_URL": (
                f"postgres://{username}:{password}@{SERVICE.hostname}:{SERVICE.port}/{database}"
            ),
            "POSTGRESQL_USERNAME": username,
            "POSTGRESQL_PASSWORD": password,
            "POSTGRESQL_HOST": SERVICE.hostname,
            "POSTGRESQL_PORT": str(SERVICE.port),
            "POSTGRESQL_DATABASE": database,
        }

    def backup(self, app: AppInstance, instance: AddonInstance, staging: Path) -> None:
        # As the postgres superuser over the server's socket (peer authentication).
        runtime_services.exec_to_file(
            SERVICE.container,
            ["pg_dump", "-h", "/run/postgresql", "--format=custom", database_name(app)],
            staging / DUMP_FILE,
            user="postgres",
        )

    def restore(self, app: AppInstance, instance: AddonInstance, staging: Path) -> None:
        name = database_name(app)
        try:
            with self._connect() as connection:
                connection.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        except psycopg.Error as exc:
            raise AddonError(f"dropping the PostgreSQL database failed: {exc}") from None
        self.provision(app, instance)
        # --role: objects are created as the app's role, so it owns them as it did before.
        runtime_services.exec_from_file(
            SERVICE.container,
            [
                "pg_restore",
                "-h",
                "/run/postgresql",
                "--no-owner",
                f"--role={name}",
                "--exit-on-error",
                "-d",
                name,
            ],
            staging / DUMP_FILE,
            user="postgres",
        )

    def teardown(self, app: AppInstance, instance: AddonInstance) -> None:
        name = sql.Identifier(database_name(app))
        try:
            with self._connect() as connection:
                connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
                connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(name))
        except psycopg.Error as exc:
            raise AddonError(f"removing the PostgreSQL database failed: {exc}") from None
        SERVICE.detach(app.id.hex)
