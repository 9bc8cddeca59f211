#!/bin/bash
# First start: seed the wiki and its configuration into /app/data, make an admin account with
# a random password. Every start: run php-fpm and nginx; if either dies the container exits
# and Docker restarts it.
set -euo pipefail
conf=/app/data/conf
mkdir -p "$conf" /tmp/sessions
if [ ! -d /app/data/data ]; then
    cp -a /app/code/seed-data /app/data/data
fi
if [ ! -f "$conf/local.php" ]; then
    cat > "$conf/local.php" <<'PHP'
<?php
$conf['title'] = 'Wiki';
$conf['useacl'] = 1;
$conf['superuser'] = '@admin';
// Accounts are made by the admin, not by strangers.
$conf['disableactions'] = 'register';
PHP
fi
if [ ! -f "$conf/acl.auth.php" ]; then
    # Everybody may read; signed-in users may edit, create and upload.
    printf '*\t@ALL\t1\n*\t@user\t8\n' > "$conf/acl.auth.php"
fi
# Settings the package owns, refreshed at every start so that an update brings its own.
cp /app/code/local.protected.php "$conf/local.protected.php"
cp /etc/dokuwiki/plugins.php /etc/dokuwiki/plugins.required.php "$conf/"
if [ ! -f "$conf/plugins.local.php" ]; then
    printf '<?php\n' > "$conf/plugins.local.php"
fi
if [ ! -f "$conf/users.auth.php" ]; then
    password="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
    hash="$(php -r 'echo password_hash($argv[1], PASSWORD_BCRYPT);' "$password")"
    umask 077
    printf '# login:passwordhash:Real Name:email:groups\nadmin:%s:Administrator:admin@%s:admin,user\n' \
        "$hash" "${HEARTH_APP_DOMAIN:-localhost}" > "$conf/users.auth.php"
    printf '%s\n' "$password" > /app/data/.initial-admin-password
    echo "DokuWiki: sign in as admin with the password in /app/data/.initial-admin-password"
fi

php-fpm8.2 --nodaemonize --fpm-config /app/code/php-fpm.conf &
nginx -c /app/code/nginx.conf &
wait -n
echo "php-fpm or nginx stopped; exiting so that the container is restarted" >&2
exit 1
