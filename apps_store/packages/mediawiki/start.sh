#!/bin/bash
# First start: make the secrets, create the database tables and the admin account (random
# password in /app/data/.initial-admin-password). Every start: bring the schema up to the
# code's version, then run php-fpm and nginx; if either dies the container exits and Docker
# restarts it.
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
if [ ! -f /app/data/.installed ]; then
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
    touch /app/data/.installed
    echo "MediaWiki: sign in as admin with the password in /app/data/.initial-admin-password"
    cp /app/code/LocalSettings.php /run/LocalSettings.php
else
    cp /app/code/LocalSettings.php /run/LocalSettings.php
    php maintenance/update.php --quick
fi

php-fpm8.2 --nodaemonize --fpm-config /app/code/php-fpm.conf &
nginx -c /app/code/nginx.conf &
wait -n
echo "php-fpm or nginx stopped; exiting so that the container is restarted" >&2
exit 1
