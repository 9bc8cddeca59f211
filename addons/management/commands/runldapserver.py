from __future__ import annotations

import asyncio

from django.core.management.base import BaseCommand

from addons.ldap.addon import ldap_port
from addons.ldap.server import run


class Command(BaseCommand):
    help = "Serve Hearth's read-only LDAP directory for apps with the ldap addon."

    def add_arguments(self, parser) -> None:
        # Every address: apps reach it through their own network's gateway address; the
        # server itself refuses peers outside loopback and the app networks.
        parser.add_argument("--host", default="0.0.0.0")  # noqa: S104

    def handle(self, *args, host: str, **options) -> None:
        asyncio.run(run(host, ldap_port()))
