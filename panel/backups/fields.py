"""A model field whose value is encrypted in the database (panel.backups.encryption)."""

from __future__ import annotations

from django.db import models

from panel.backups.encryption import decrypt, encrypt


class EncryptedTextField(models.TextField):
    """Reads and writes plain strings in Python; the column holds only Fernet tokens."""

    def from_db_value(self, value, expression, connection):
        return value if value is None else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value is None else encrypt(value)
