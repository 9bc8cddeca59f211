#!/bin/bash
# First start: seed wp-content and make WordPress's keys and salts. Every start: run php-fpm
# and nginx; if either dies the container exits and Docker restarts it. The install wizard
# (site title, admin account) is the owner's first visit to the site.
set -euo pipefail
mkdir -p /tmp/sessions
if [ ! -d /app/data/wp-content ]; then
    cp -a /app/code/seed-wp-content /app/data/wp-content
fi
if [ ! -f /app/data/wp-salts.php ]; then
    umask 077
    php -r '
        echo "<?php\n";
        foreach (["AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY",
                  "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT"] as $name) {
            echo "define(\"$name\", \"" . bin2hex(random_bytes(32)) . "\");\n";
        }' > /app/data/wp-salts.php
fi

php-fpm8.2 --nodaemonize --fpm-config /app/code/php-fpm.conf &
nginx -c /app/code/nginx.conf &
wait -n
echo "php-fpm or nginx stopped; exiting so that the container is restarted" >&2
exit 1
