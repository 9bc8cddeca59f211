from __future__ import annotations

import http.client

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Exit 0 when the panel answers HTTP on its bind address (used by the run command)."

    def handle(self, *args, **options) -> None:
        host, port = settings.HEARTH_PANEL_BIND.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=3)
        try:
            connection.request("GET", "/accounts/login/")
            status = connection.getresponse().status
        except OSError as exc:
            raise CommandError(
                f"panel not answering on {settings.HEARTH_PANEL_BIND}: {exc}"
            ) from None
        finally:
            connection.close()
        if status >= 500:
            raise CommandError(f"panel answered {status}")
