from __future__ import annotations

from django.core.management.base import CommandError
from docker.errors import ImageNotFound

from apps_store.management.commands._package_command import PackageCommand
from apps_store.services import image_tag
from panel.runtime.containers import get_runtime
from panel.runtime.images import push_image


class Command(PackageCommand):
    help = "Push an app package's built image to Hearth's registry and print its digest."

    def handle(self, *args, folder, **options) -> None:
        manifest = self.check_folder(folder).manifest
        tag = image_tag(manifest)
        with self.docker_errors():
            try:
                get_runtime().client.images.get(tag)
            except ImageNotFound:
                raise CommandError(
                    f"there is no image {tag} to push; run: manage.py buildpackage {folder}"
                ) from None
            digest = push_image(tag)
        self.stdout.write(self.style.SUCCESS(f"pushed {tag}\ndigest {digest}"))
        self.stdout.write(f"next: manage.py publishpackage {folder}")
