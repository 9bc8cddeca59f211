#!/bin/bash
# First start: make the account "admin" with a random password (bcrypt in /app/data/users).
# Add more with: htpasswd -B /app/data/users NAME (or any bcrypt htpasswd line).
set -euo pipefail
mkdir -p /app/data/collections
if [ ! -f /app/data/users ]; then
    password="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
    umask 077
    python3 -c 'import sys, bcrypt; print("admin:" + bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt()).decode())' \
        "$password" > /app/data/users
    printf '%s\n' "$password" > /app/data/.initial-admin-password
    echo "Radicale: sign in as admin with the password in /app/data/.initial-admin-password"
fi
exec python3 -m radicale --config /app/code/radicale.conf
