from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps_store.sync import sync_stores


class Command(BaseCommand):
    help = (
        "Sync the App Store catalog from store URLs (default: HEARTH_STORE_URLS), then mark "
        "installed apps that have a newer release. A store that fails changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("urls", nargs="*", help="store base URLs, e.g. https://my.example.org")

    def handle(self, *args, urls: list[str], **options) -> None:
        reports, errors = sync_stores(urls or None)
        for report in reports:
            self.stdout.write(self.style.SUCCESS(f"synced {report}"))
        if errors:
            raise CommandError("\n".join(errors))
