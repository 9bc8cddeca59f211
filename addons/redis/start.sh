#!/bin/sh
# The password comes as REDISCLI_AUTH, which redis-cli also reads: health checks and backups
# inside the container then need no password on a command line. The memory cap sits below the
# container's limit, so a full redis refuses writes instead of being killed.
set -eu
chown -R redis:redis /var/lib/redis
set -- --bind 0.0.0.0 --port 6379 --dir /var/lib/redis --dbfilename dump.rdb \
    --save 60 1 --save 300 10 --appendonly no --protected-mode no \
    --maxmemory "${REDIS_MAXMEMORY:-200mb}" --maxmemory-policy noeviction
if [ -n "${REDISCLI_AUTH:-}" ]; then
    set -- "$@" --requirepass "$REDISCLI_AUTH"
fi
exec setpriv --reuid=redis --regid=redis --init-groups redis-server "$@"
