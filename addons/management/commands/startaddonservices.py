from __future__ import annotations

from django.core.management.base import BaseCommand

from addons.services import start_addon_services


class Command(BaseCommand):
    help = "Build and start the addon services (MariaDB, PostgreSQL...) and re-attach them to apps."

    def handle(self, *args, **options) -> None:
        started = start_addon_services()
        self.stdout.write(f"addon services ready: {', '.join(started)}")
