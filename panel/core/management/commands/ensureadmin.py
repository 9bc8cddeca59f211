from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from panel.domains.services import ensure_default_domain


class Command(BaseCommand):
    help = "Create the first admin once, and print the dashboard URL and login."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options) -> None:
        domain = ensure_default_domain()
        password_file = Path(settings.HEARTH_HOME) / "admin-password"
        users = get_user_model()
        url = f"http://{domain.dashboard_host}"
        port = settings.HEARTH_HTTP_LISTEN.rsplit(":", 1)[-1]
        if port != "80":
            url += f":{port}"
        self.stdout.write(f"Dashboard: {url}")
        if users.objects.filter(is_superuser=True).exists():
            self.stdout.write(
                f"Log in as your admin (the first password was printed once and is kept in "
                f"{password_file}, readable by root only)."
            )
            return
        password = secrets.token_urlsafe(15)
        users.objects.create_superuser(username=username, email="", password=password)
        # Written 0600 from the start so the password is never world-readable, not even briefly.
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        self.stdout.write(
            f"Username: {username}\nPassword: {password}\n"
            "(shown this once; also kept in {password_file}, mode 0600)".replace(
                "{password_file}", str(password_file)
            )
        )
