from __future__ import annotations

import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from ipaddress import ip_network
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from addons.sendmail.addon import find_sender
from addons.sendmail.relay import Sender, relay_port, start_relay


class Command(BaseCommand):
    help = "Run the SMTP relay that apps with the sendmail addon send their mail through."

    def add_arguments(self, parser) -> None:
        # Apps reach the host on the gateway address of their own network, which differs per
        # app; the firewall lets them reach only this port of the host.
        parser.add_argument("--host", default="0.0.0.0")  # noqa: S104
        parser.add_argument("--port", type=int, default=None)

    def handle(self, *args, host: str, port: int | None, **options) -> None:
        # aiosmtpd calls the authenticator inside its event loop, where Django refuses database
        # queries; one worker thread does them instead.
        database = ThreadPoolExecutor(max_workers=1)

        def lookup(username: str, password: str) -> Sender | None:
            close_old_connections()
            return find_sender(username, password)

        def check_login(username: str, password: str) -> Sender | None:
            return database.submit(lookup, username, password).result(timeout=10)

        outbox = Path(settings.HEARTH_HOME) / "mail" / "outbox"
        port = port or relay_port()
        clients = [ip_network(settings.HEARTH_APP_SUBNETS), ip_network("127.0.0.0/8")]
        controller = start_relay(host, port, outbox, check_login, clients)
        self.stdout.write(f"mail relay listening on {host}:{port}, keeping mail in {outbox}")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        stop.wait()
        controller.stop()
        database.shutdown()
