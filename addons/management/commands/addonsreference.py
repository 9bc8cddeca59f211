from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from addons.reference import render_markdown, replace_section


class Command(BaseCommand):
    help = (
        "Print the addon reference (markdown) generated from the registry, or with --write FILE "
        "replace its generated section in FILE, or with --verify FILE fail if it is out of date."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--write", metavar="FILE")
        parser.add_argument("--verify", metavar="FILE")

    def handle(self, *args, write: str | None, verify: str | None, **options) -> None:
        if write:
            path = Path(write)
            path.write_text(replace_section(path.read_text()))
            self.stdout.write(f"updated the addon reference in {path}")
        elif verify:
            text = Path(verify).read_text()
            if replace_section(text) != text:
                raise CommandError(
                    f"the addon reference in {verify} is out of date: "
                    f"run `manage.py addonsreference --write {verify}`"
                )
            self.stdout.write(f"the addon reference in {verify} is up to date")
        else:
            self.stdout.write(render_markdown(), ending="")
