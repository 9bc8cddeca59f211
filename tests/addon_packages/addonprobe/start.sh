#!/bin/sh
set -eu
mkdir -p /tmp/www
echo ok > /tmp/www/healthz
echo "addon probe started"
exec busybox httpd -f -p 8000 -h /tmp/www
