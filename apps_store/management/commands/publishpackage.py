from __future__ import annotations

from apps_store.management.commands._package_command import PackageCommand
from apps_store.services import build_package, record_release
from apps_store.signing import key_fingerprint
from apps_store.updates import check_for_updates


class Command(PackageCommand):
    help = (
        "Build, push, sign and publish an app package: it appears in this Hearth's App Store "
        "and in the store index other Hearths sync from."
    )

    def handle(self, *args, folder, **options) -> None:
        self.check_folder(folder)
        self.stdout.write(f"building and pushing {folder}...")
        with self.docker_errors():
            manifest, tag, digest = build_package(folder)
        release = record_release(folder, manifest, tag, digest)
        updates = check_for_updates()
        self.stdout.write(
            self.style.SUCCESS(f"published {release}")
            + f"\n  image {tag}\n  digest {digest}"
            + f"\n  signed by store key {key_fingerprint(release.signing_key)}"
        )
        if updates:
            self.stdout.write(f"{len(updates)} installed app(s) can now be updated")
