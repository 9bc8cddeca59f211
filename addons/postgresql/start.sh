#!/bin/sh
# First start initialises the data volume; every start (re)sets the password of the role the
# panel administers databases with, so it always matches the panel's secret.
set -eu
: "${HEARTH_ADMIN_PASSWORD:?the panel must pass HEARTH_ADMIN_PASSWORD}"
PGBIN=/usr/lib/postgresql/15/bin
PGDATA=/var/lib/postgresql/data
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    as_postgres "$PGBIN/initdb" -D "$PGDATA" --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=peer --auth-host=scram-sha-256 >/dev/null
fi
echo "ALTER ROLE postgres PASSWORD '${HEARTH_ADMIN_PASSWORD}'" \
    | as_postgres "$PGBIN/postgres" --single -D "$PGDATA" postgres >/dev/null
exec setpriv --reuid=postgres --regid=postgres --init-groups "$PGBIN/postgres" -D "$PGDATA" \
    -c listen_addresses='*' \
    -c hba_file=/etc/hearth/pg_hba.conf \
    -c unix_socket_directories=/run/postgresql \
    -c shared_buffers=32MB \
    -c max_connections=300 \
    -c password_encryption=scram-sha-256
