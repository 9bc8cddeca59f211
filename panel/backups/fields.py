"""A model field whose value is encrypted in the database (panel.backups.encryption)."""

from __future__ import annotations

import logging

from django.db import models

from panel.backups.encryption import SecretUnreadable, decrypt, encrypt

log = logging.getLogger(__name__)


class EncryptedTextField(models.TextField):
    """Reads and writes plain strings in Python; the column holds only Fernet tokens."""

    def from_db_value(self, value, expression, connection):
        if value is None:
            return value
        try:
            return decrypt(value)
        except SecretUnreadable as exc:
            # Pages must still open: the target's commands then fail ("wrong password")
            # until the owner enters its recovery key (and keys) again on its edit page.
            log.error("%s", exc)
            return ""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value is None else encrypt(value)
