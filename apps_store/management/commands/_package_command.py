"""What the packaging commands share: the folder argument and errors in plain words."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from docker.errors import DockerException
from requests.exceptions import ConnectionError as RequestsConnectionError

from apps_store.package import PackageCheck, PackageError, check_package
from panel.runtime.containers import RuntimeFailure


class PackageCommand(BaseCommand):
    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "folder", type=Path, help="the package folder (with HearthManifest.json, Dockerfile)"
        )

    def check_folder(self, folder: Path) -> PackageCheck:
        try:
            checked = check_package(folder)
        except PackageError as exc:
            lines = "\n".join(f"  - {problem}" for problem in exc.problems)
            raise CommandError(f"{folder} is not a valid package:\n{lines}") from None
        for warning in checked.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))
        return checked

    @contextmanager
    def docker_errors(self):
        """Docker and registry failures as one clear line instead of a traceback."""
        try:
            yield
        except RuntimeFailure as exc:
            raise CommandError(str(exc)) from None
        except (DockerException, RequestsConnectionError) as exc:
            raise CommandError(
                f"cannot talk to Docker ({exc}); is dockerd running? (scripts/hearth up)"
            ) from None
