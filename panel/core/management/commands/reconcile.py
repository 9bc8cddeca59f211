from __future__ import annotations

from django.core.management.base import BaseCommand

from panel.core.reconcile import reconcile_apps


class Command(BaseCommand):
    help = "Compare the apps in the database with Docker and nginx and repair the drift."

    def handle(self, *args, **options) -> None:
        report = reconcile_apps()
        for name, items in vars(report).items():
            if items:
                self.stdout.write(f"{name.replace('_', ' ')}: {', '.join(items)}")
