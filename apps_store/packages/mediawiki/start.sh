#!/bin/bash
# First start: make the secrets, create the database tables and the admin account (random
# password in /app/data/.initial-admin-password). Later starts: bring the schema up to the
# code's version when the code changed. Then run php-fpm and nginx; if either dies the
# container exits and Docker restarts it.
set -euo pipefail
mkdir -p /tmp/sessions /tmp/mediawiki-cache /app/data/images
cd /usr/share/mediawiki
if [ ! -f /app/data/secrets.php ]; then
    umask 077
    printf '<?php\n$wgSecretKey = "%s";\n$wgUpgradeKey = "%s";\n' \
        "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
        "$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')" > /app/data/secrets.php
    umask 022
fi
# Whether the wiki's tables exist is asked of the database itself, so that a half-finished
# first start, or a database restored without this folder, is handled right.
schema_state() {
    php -r '
        $quote = fn ($value) => "\x27" . addcslashes((string) $value, "\x27\\") . "\x27";
        $db = @pg_connect(sprintf("host=%s port=%s dbname=%s user=%s password=%s",
            $quote(getenv("HEARTH_POSTGRESQL_HOST")), $quote(getenv("HEARTH_POSTGRESQL_PORT")),
            $quote(getenv("HEARTH_POSTGRESQL_DATABASE")), $quote(getenv("HEARTH_POSTGRESQL_USERNAME")),
            $quote(getenv("HEARTH_POSTGRESQL_PASSWORD"))));
        if (!$db) { fwrite(STDERR, "cannot reach PostgreSQL\n"); exit(2); }
        $found = pg_fetch_result(pg_query($db, "SELECT to_regclass(\x27mediawiki.page\x27)"), 0, 0);
        echo $found ? "installed" : "empty";'
}
state="$(schema_state)"
code_version="$(dpkg-query -W -f '${Version}' mediawiki)"
if [ "$state" = "empty" ]; then
    password="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
    # The installer writes a LocalSettings.php of its own; ours is in the image (copied to
    # /run below), so its copy goes to /tmp and is dropped. What matters is the schema and
    # the admin account.
    php maintenance/install.php --confpath=/tmp --dbtype=postgres \
        --dbserver="$HEARTH_POSTGRESQL_HOST" --dbport="$HEARTH_POSTGRESQL_PORT" \
        --dbname="$HEARTH_POSTGRESQL_DATABASE" --dbschema=mediawiki \
        --dbuser="$HEARTH_POSTGRESQL_USERNAME" --dbpass="$HEARTH_POSTGRESQL_PASSWORD" \
        --installdbuser="$HEARTH_POSTGRESQL_USERNAME" --installdbpass="$HEARTH_POSTGRESQL_PASSWORD" \
        --server="$HEARTH_APP_ORIGIN" --scriptpath="" --pass="$password" Wiki admin
    rm -f /tmp/LocalSettings.php
    (umask 077 && printf '%s\n' "$password" > /app/data/.initial-admin-password)
    echo "MediaWiki: sign in as admin with the password in /app/data/.initial-admin-password"
    cp /app/code/LocalSettings.php /run/LocalSettings.php
else
    cp /app/code/LocalSettings.php /run/LocalSettings.php
    # update.php takes seconds even when there is nothing to do: run it only when the code
    # changed since the schema was last brought up to date.
    if [ "$(cat /app/data/.schema-version 2>/dev/null)" != "$code_version" ]; then
        php maintenance/update.php --quick
    fi
fi
printf '%s\n' "$code_version" > /app/data/.schema-version

php-fpm8.2 --nodaemonize --fpm-config /app/code/php-fpm.conf &
nginx -c /app/code/nginx.conf &
wait -n
echo "php-fpm or nginx stopped; exiting so that the container is restarted" >&2
exit 1
