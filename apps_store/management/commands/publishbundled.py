from __future__ import annotations

from django.core.management.base import BaseCommand

from apps_store.services import publish_bundled_packages
from apps_store.updates import check_for_updates


class Command(BaseCommand):
    help = "Build, push, sign and list in the store every app package bundled with Hearth."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="rebuild even if up to date")

    def handle(self, *args, force: bool = False, **options) -> None:
        for release, built in publish_bundled_packages(force=force):
            self.stdout.write(f"{'published' if built else 'up to date'}: {release}")
        updates = check_for_updates()
        if updates:
            self.stdout.write(f"{len(updates)} installed app(s) can now be updated")
