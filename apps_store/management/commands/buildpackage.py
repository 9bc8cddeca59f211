from __future__ import annotations

from apps_store.management.commands._package_command import PackageCommand
from apps_store.services import build_package_image


class Command(PackageCommand):
    help = (
        "Build an app package's image FROM Hearth's base image (docker build with "
        "--build-arg BASE_IMAGE=...). The image stays local; pushpackage sends it to the registry."
    )

    def handle(self, *args, folder, **options) -> None:
        self.check_folder(folder)
        self.stdout.write(f"building {folder} (the first build of an app can take a minute)...")
        with self.docker_errors():
            _, tag = build_package_image(folder)
        self.stdout.write(self.style.SUCCESS(f"built {tag}"))
        self.stdout.write(f"next: manage.py pushpackage {folder}")
