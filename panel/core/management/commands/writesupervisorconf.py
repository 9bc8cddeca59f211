from __future__ import annotations

import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

TEMPLATE = """\
; Written by `hearth up`; changes are overwritten.
[unix_http_server]
file={home}/supervisor.sock
chmod=0700

[supervisord]
logfile={home}/log/supervisord.log
pidfile={home}/supervisord.pid
childlogdir={home}/log
logfile_maxbytes=10MB
logfile_backups=3

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{home}/supervisor.sock

[program:panel]
command={bin}/daphne -b {panel_host} -p {panel_port} panel.asgi:application
directory={root}
environment=HEARTH_HOME="{home}"{extra_env}
autorestart=true
stopsignal=TERM
stopwaitsecs=15
stdout_logfile={home}/log/panel.log
stdout_logfile_maxbytes=10MB
stdout_logfile_backups=3
redirect_stderr=true

[program:worker]
command={bin}/celery -A panel worker --loglevel=INFO --concurrency=2 --hostname=worker@%%h
directory={root}
environment=HEARTH_HOME="{home}"{extra_env}
autorestart=true
stopsignal=TERM
; A task in the middle of a docker pull may need a while to reach a safe point.
stopwaitsecs=60
stdout_logfile={home}/log/worker.log
stdout_logfile_maxbytes=10MB
stdout_logfile_backups=3
redirect_stderr=true

[program:beat]
command={bin}/celery -A panel beat --loglevel=INFO --schedule={home}/celerybeat-schedule
directory={root}
environment=HEARTH_HOME="{home}"{extra_env}
autorestart=true
stopsignal=TERM
stdout_logfile={home}/log/beat.log
stdout_logfile_maxbytes=10MB
stdout_logfile_backups=3
redirect_stderr=true

; The SMTP relay apps with the sendmail addon send through (addons/sendmail/relay.py).
[program:ldap]
command={bin}/python {root}/manage.py runldapserver
directory={root}
environment=HEARTH_HOME="{home}"{extra_env}
autorestart=true
stopsignal=TERM
stdout_logfile={home}/log/ldap.log
stdout_logfile_maxbytes=10MB
stdout_logfile_backups=3
redirect_stderr=true

[program:mailrelay]
command={bin}/python {root}/manage.py runmailrelay
directory={root}
environment=HEARTH_HOME="{home}"{extra_env}
autorestart=true
stopsignal=TERM
stdout_logfile={home}/log/mailrelay.log
stdout_logfile_maxbytes=10MB
stdout_logfile_backups=3
redirect_stderr=true
"""

PASSED_THROUGH = (
    "DATABASE_URL",
    "HEARTH_DOMAIN",
    "HEARTH_HTTP_LISTEN",
    "HEARTH_INSTANCE",
    "HEARTH_MAIL_RELAY_PORT",
    "HEARTH_LDAP_PORT",
    "HEARTH_MAIL_SMARTHOST",
)


def _escape(value: str) -> str:
    # supervisord expands %(name)s in values and ends a quoted value at the next quote.
    return value.replace("%", "%%").replace('"', '\\"')


class Command(BaseCommand):
    help = "Write the supervisord config that runs the panel, the Celery worker and beat."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path")

    def handle(self, *args, path: str, **options) -> None:
        root = Path(settings.BASE_DIR)
        host, port = settings.HEARTH_PANEL_BIND.rsplit(":", 1)
        extra = "".join(
            f',{name}="{_escape(os.environ[name])}"'
            for name in PASSED_THROUGH
            if name in os.environ
        )
        Path(path).write_text(
            TEMPLATE.format(
                home=settings.HEARTH_HOME,
                root=root,
                bin=Path(sys.executable).parent,
                panel_host=host,
                panel_port=port,
                extra_env=extra,
            )
        )
