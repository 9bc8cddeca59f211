from __future__ import annotations

from django.core.management.base import BaseCommand

from apps_store.services import store_public_key
from apps_store.signing import key_fingerprint


class Command(BaseCommand):
    help = (
        "Print this Hearth's store public key. Another Hearth that syncs from this one trusts "
        "its releases once the key is in its HEARTH_STORE_TRUSTED_KEYS."
    )

    def handle(self, *args, **options) -> None:
        key = store_public_key()
        self.stdout.write(f"{key}\nfingerprint {key_fingerprint(key)}")
