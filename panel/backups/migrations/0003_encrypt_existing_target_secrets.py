"""Encrypt the secrets of targets saved before they were encrypted at rest.

The field reads an unprefixed (plaintext) value as it is and writes it encrypted, so loading
and saving each row is the whole conversion. Backwards it writes them back in plaintext.
"""

from django.db import migrations

from panel.backups.encryption import decrypt


def encrypt_secrets(apps, schema_editor):
    BackupTarget = apps.get_model("backups", "BackupTarget")
    for target in BackupTarget.objects.all():
        target.save(update_fields=["password", "secret_key"])


def decrypt_secrets(apps, schema_editor):
    BackupTarget = apps.get_model("backups", "BackupTarget")
    for row in BackupTarget.objects.values("pk", "password", "secret_key"):
        # Raw SQL: the field itself would encrypt them again on the way in.
        schema_editor.execute(
            "UPDATE backups_backuptarget SET password = %s, secret_key = %s WHERE id = %s",
            [decrypt(row["password"]), decrypt(row["secret_key"]), row["pk"]],
        )


class Migration(migrations.Migration):
    dependencies = [("backups", "0002_schedule_retention_encrypted_secrets")]

    operations = [migrations.RunPython(encrypt_secrets, decrypt_secrets)]
