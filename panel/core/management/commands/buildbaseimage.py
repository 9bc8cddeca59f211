from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from panel.runtime.base_image import ensure_base_image
from panel.runtime.containers import get_runtime


class Command(BaseCommand):
    help = "Build the Debian base image from its recipe (only if the recipe changed) and push it."

    def handle(self, *args, **options) -> None:
        reference, built = ensure_base_image(get_runtime().client, settings.HEARTH_REGISTRY)
        self.stdout.write(f"{'built' if built else 'up to date'}: {reference}")
