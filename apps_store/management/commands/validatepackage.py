from __future__ import annotations

from apps_store.management.commands._package_command import PackageCommand


class Command(PackageCommand):
    help = "Check an app package folder: its manifest, its Dockerfile and its icon."

    def handle(self, *args, folder, **options) -> None:
        manifest = self.check_folder(folder).manifest
        addons = ", ".join(manifest.addons) or "none"
        self.stdout.write(
            self.style.SUCCESS(f"{folder}: valid package {manifest.id} {manifest.version}")
            + f"\n  title: {manifest.title}\n  http port: {manifest.http_port}"
            f"\n  health check: {manifest.health_check_path}\n  addons: {addons}"
            f"\n  memory limit: {manifest.memory_limit // (1024 * 1024)} MiB"
        )
