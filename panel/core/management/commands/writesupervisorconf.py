from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

HEADER = """\
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
"""

PROGRAM = """
{comment}[program:{name}]
command={command}
directory={root}
environment=HEARTH_HOME="{home}"{extra_env}
autorestart=true
stopsignal=TERM
stopwaitsecs={stop_seconds}
stdout_logfile={home}/log/{name}.log
stdout_logfile_maxbytes=10MB
stdout_logfile_backups=3
redirect_stderr=true
"""


@dataclass(frozen=True)
class Program:
    name: str
    command: str
    comment: str = ""
    stop_seconds: int = 15
    # Extra environment of this program only, e.g. {"CELERY_SKIP_CHECKS": "1"}.
    env: tuple[tuple[str, str], ...] = ()


def programs(
    bin_dir: Path, root: Path, home: Path, *, panel_bind: str = "", worker_name: str = "worker"
) -> list[Program]:
    """What supervisord runs (bench/dashboard.py measures the same commands)."""
    host, port = (panel_bind or settings.HEARTH_PANEL_BIND).rsplit(":", 1)
    manage = f"{bin_dir}/python {root}/manage.py"
    return [
        Program("panel", f"{bin_dir}/daphne -b {host} -p {port} panel.asgi:application"),
        Program(
            "worker",
            f"{bin_dir}/celery -A panel worker --loglevel=INFO --pool=threads --concurrency=4 "
            f"--hostname={worker_name}@%%h",
            comment=(
                "Threads, not forked children (~80 MiB each): tasks wait on Docker, restic and "
                "the network, not the CPU, and four let the minute's health checks run beside "
                "three long installs.\n; A task in the middle of a docker pull may need a while "
                "to reach a safe point."
            ),
            stop_seconds=60,
            # Django's system checks load every view (and their imports) for nothing here;
            # `hearth up` has run them already.
            env=(("CELERY_SKIP_CHECKS", "1"),),
        ),
        Program(
            "beat",
            f"{bin_dir}/celery -A panel.monitoring.beat beat --loglevel=INFO "
            f"--schedule={home}/celerybeat-schedule",
            comment="Only sends the schedule's task names: no Django apps, no task modules.",
        ),
        Program("ldap", f"{manage} runldapserver", comment="The LDAP directory for apps."),
        Program(
            "mailrelay",
            f"{manage} runmailrelay",
            comment="The SMTP relay apps with the sendmail addon send through.",
        ),
    ]


def passed_through(environ: dict[str, str]) -> dict[str, str]:
    """The settings the owner gave `hearth up` (every HEARTH_* variable and DATABASE_URL):
    the supervised processes must read the same ones, or the worker would send alerts through
    another SMTP relay than the one configured. HEARTH_HOME is written on its own."""
    return {
        name: value
        for name, value in sorted(environ.items())
        if (name.startswith("HEARTH_") and name != "HEARTH_HOME") or name == "DATABASE_URL"
    }


def _escape(value: str) -> str:
    # supervisord expands %(name)s in values and ends a quoted value at the next quote.
    return value.replace("%", "%%").replace('"', '\\"')


class Command(BaseCommand):
    help = "Write the supervisord config for the panel, the Celery worker and beat, LDAP, mail."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path")

    def handle(self, *args, path: str, **options) -> None:
        root, home = Path(settings.BASE_DIR), Path(settings.HEARTH_HOME)
        bin_dir = Path(sys.executable).parent
        extra = "".join(
            f',{name}="{_escape(value)}"' for name, value in passed_through(os.environ).items()
        )
        sections = [HEADER.format(home=home)]
        for program in programs(bin_dir, root, home):
            sections.append(
                PROGRAM.format(
                    name=program.name,
                    command=program.command,
                    comment=f"; {program.comment}\n" if program.comment else "",
                    root=root,
                    home=home,
                    extra_env=extra
                    + "".join(f',{name}="{_escape(value)}"' for name, value in program.env),
                    stop_seconds=program.stop_seconds,
                )
            )
        # It holds whatever secrets came in the environment (SMTP password, DATABASE_URL).
        target = Path(path)
        target.touch(mode=0o600)
        target.chmod(0o600)
        target.write_text("".join(sections))
