#!/bin/sh
# First start initialises the data volume; every start (re)sets the password of the account
# the panel administers databases with, so it always matches the panel's secret.
set -eu
: "${HEARTH_ADMIN_PASSWORD:?the panel must pass HEARTH_ADMIN_PASSWORD}"
mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld /var/lib/mysql
if [ ! -d /var/lib/mysql/mysql ]; then
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db \
        --auth-root-authentication-method=socket >/dev/null
fi
umask 077
cat > /run/mysqld/init.sql <<SQL
CREATE USER IF NOT EXISTS 'hearth_admin'@'%' IDENTIFIED BY '${HEARTH_ADMIN_PASSWORD}';
ALTER USER 'hearth_admin'@'%' IDENTIFIED BY '${HEARTH_ADMIN_PASSWORD}';
GRANT ALL PRIVILEGES ON *.* TO 'hearth_admin'@'%' WITH GRANT OPTION;
SQL
chown mysql /run/mysqld/init.sql
exec mariadbd --user=mysql --init-file=/run/mysqld/init.sql
