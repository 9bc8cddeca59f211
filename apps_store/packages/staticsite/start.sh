#!/bin/sh
# Seed the site on first start only; after that /app/data/public belongs to the owner.
set -eu
if [ ! -d /app/data/public ]; then
    cp -r /app/code/seed /app/data/public
fi
exec nginx -e stderr -c /app/code/nginx.conf
