"""Editing and removing backup targets, their secrets encrypted at rest, and the per-app
automatic-backups switch. Folder repositories are real restic ones; S3 is moto's server."""

from __future__ import annotations

import stat

import pytest
from django.db import connection
from django.urls import reverse

from panel.backups.encryption import key_path
from panel.backups.models import Backup, BackupTarget
from panel.backups.services import create_target, remove_target, update_target
from panel.core.models import Event, Task
from panel.core.services import ActionRejected

pytestmark = pytest.mark.django_db

KEYS = {"access_key": "hearth-test", "secret_key": "hearth-test-secret", "region": "us-east-1"}


def stored(target_id: int, column: str) -> str:
    with connection.cursor() as cursor:
        # The raw column, past the field's decryption; `column` is one of two literals.
        cursor.execute(f"SELECT {column} FROM backups_backuptarget WHERE id = %s", [target_id])  # noqa: S608
        return cursor.fetchone()[0]


def test_the_recovery_key_and_s3_secret_are_not_in_the_database_in_plaintext(s3_server, s3_bucket):
    target = create_target(
        name="cloud", kind="s3", endpoint=s3_server, bucket=s3_bucket("hearth-enc"), **KEYS
    )
    for column, secret in (("password", target.password), ("secret_key", KEYS["secret_key"])):
        raw = stored(target.pk, column)
        assert raw.startswith("fernet:")
        assert secret not in raw
    # Read back through the model, they open the repository.
    again = BackupTarget.objects.get(pk=target.pk)
    assert again.password == target.password and again.secret_key == KEYS["secret_key"]
    assert again.repository().env["AWS_SECRET_ACCESS_KEY"] == KEYS["secret_key"]
    assert stat.S_IMODE(key_path().stat().st_mode) == 0o600


def test_the_data_migration_encrypts_the_secrets_of_older_rows(target_folder):
    from django.db.migrations.executor import MigrationExecutor

    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    recovery_key = target.password
    # As a row saved before encryption was: plaintext in the column.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE backups_backuptarget SET password = %s WHERE id = %s",
            [recovery_key, target.pk],
        )
    assert stored(target.pk, "password") == recovery_key
    assert BackupTarget.objects.get(pk=target.pk).password == recovery_key

    import importlib

    migration = importlib.import_module(
        "panel.backups.migrations.0003_encrypt_existing_target_secrets"
    )
    state = MigrationExecutor(connection).loader.project_state(
        ("backups", "0003_encrypt_existing_target_secrets")
    )
    migration.encrypt_secrets(state.apps, None)
    assert recovery_key not in stored(target.pk, "password")
    assert BackupTarget.objects.get(pk=target.pk).password == recovery_key


def test_editing_changes_name_schedules_and_retention_and_records_an_event(target_folder):
    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    edited = update_target(
        target,
        name="usb disk",
        backup_schedule="30 2 * * *",
        check_schedule="0 6 1 * *",
        keep_daily=3,
        keep_weekly=0,
        keep_monthly=12,
        keep_within="",
    )
    edited.refresh_from_db()
    assert (edited.name, edited.backup_schedule, edited.check_schedule) == (
        "usb disk",
        "30 2 * * *",
        "0 6 1 * *",
    )
    assert (edited.keep_daily, edited.keep_weekly, edited.keep_monthly) == (3, 0, 12)
    assert Event.objects.filter(action="backup_target_changed").exists()


def test_a_bad_edit_names_its_fields_and_changes_nothing(target_folder):
    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    with pytest.raises(ActionRejected) as caught:
        update_target(
            target,
            name="renamed",
            backup_schedule="every night",
            check_schedule="0 5 * * 0",
            keep_daily=0,
            keep_weekly=0,
            keep_monthly=0,
            keep_within="",
        )
    assert "five fields" in caught.value.errors["backup_schedule"]
    assert "Keep something" in caught.value.errors["keep_daily"]
    target.refresh_from_db()
    assert (target.name, target.backup_schedule) == ("disk", "0 3 * * *")


def test_new_s3_keys_are_checked_before_they_replace_the_old_ones(s3_server_with_keys):
    endpoint, access_key, secret_key = s3_server_with_keys
    target = create_target(
        name="cloud",
        kind="s3",
        endpoint=endpoint,
        bucket="keyed",
        access_key=access_key,
        secret_key=secret_key,
    )
    with pytest.raises(ActionRejected) as caught:
        update_target(target, secret_key="not-the-secret")
    assert caught.value.errors == {"secret_key": "The secret key does not match the access key."}
    target.refresh_from_db()
    assert target.secret_key == secret_key
    # An empty secret key in the form keeps the stored one.
    update_target(target, name="cloud two", secret_key="")
    target.refresh_from_db()
    assert (target.name, target.secret_key) == ("cloud two", secret_key)


def test_removing_a_target_with_backups_asks_for_confirmation_and_keeps_the_repository(
    make_app, target_folder
):
    from panel.backups.services import backup_app

    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    backup_app(make_app(), target)
    with pytest.raises(ActionRejected) as caught:
        remove_target(target)
    assert "1 backup(s) of Site" in caught.value.errors["confirm"]
    assert BackupTarget.objects.filter(pk=target.pk).exists()

    assert remove_target(target, confirmed=True) == 1
    assert not BackupTarget.objects.exists() and not Backup.objects.exists()
    # Hearth forgot it; the repository and its snapshot are untouched.
    assert (target_folder / "config").is_file()
    assert any((target_folder / "snapshots").iterdir())
    assert Event.objects.filter(action="backup_target_removed").exists()


def test_a_target_in_use_by_a_running_backup_is_not_removed(make_app, target_folder):
    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    app = make_app()
    running = Task.objects.create(
        kind=Task.Kind.BACKUP, app=app, app_label=str(app), params={"target": target.pk}
    )
    with pytest.raises(ActionRejected) as caught:
        remove_target(target, confirmed=True)
    assert "in use by Site" in caught.value.errors["confirm"]
    running.delete()
    # An update may need its pre-update backup there to roll back.
    Task.objects.create(kind=Task.Kind.UPDATE, app=app, app_label=str(app))
    with pytest.raises(ActionRejected) as caught:
        remove_target(target, confirmed=True)
    assert "(update)" in caught.value.errors["confirm"]
    assert BackupTarget.objects.filter(pk=target.pk).exists()


def test_the_edit_page_saves_and_shows_field_errors(owner_client, target_folder):
    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    url = reverse("backups:target_edit", args=[target.pk])
    page = owner_client.get(url).content.decode()
    assert "0 3 * * *" in page and target.password not in page
    form = {
        "name": "disk",
        "backup_schedule": "0 4 * * *",
        "check_schedule": "0 5 * * 0",
        "keep_daily": "7",
        "keep_weekly": "4",
        "keep_monthly": "6",
        "keep_within": "30 days",
    }
    response = owner_client.post(url, form)
    assert response.status_code == 400
    assert "is not a duration" in response.content.decode()
    response = owner_client.post(url, {**form, "keep_within": "30d"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.backup_schedule, target.keep_within) == ("0 4 * * *", "30d")
    listing = owner_client.get(reverse("backups:targets")).content.decode()
    assert "keep 7 daily, 4 weekly, 6 monthly, everything within 30d" in listing
    assert "Backup targets" in listing  # the nav link


def test_the_remove_button_says_the_data_stays_and_needs_the_tick(
    owner_client, make_app, target_folder
):
    from panel.backups.services import backup_app

    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    backup_app(make_app(), target)
    url = reverse("backups:target_remove", args=[target.pk])
    refused = owner_client.post(url, follow=True).content.decode()
    assert "Tick the confirmation" in refused
    assert BackupTarget.objects.exists()
    done = owner_client.post(url, {"confirm": "yes"}, follow=True).content.decode()
    assert "left where they are" in done
    assert not BackupTarget.objects.exists()


def test_the_automatic_backups_switch_is_a_form_post_and_records_an_event(owner_client, make_app):
    app = make_app()
    url = reverse("backups:app_automatic_backups", args=[app.pk])
    page = owner_client.get(reverse("core:app_detail", args=[app.pk])).content.decode()
    assert "Exclude from automatic backups" in page
    response = owner_client.post(url, {"enabled": "off"})
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.automatic_backups is False
    event = Event.objects.get(action="automatic_backups")
    assert "turned off" in event.message
    page = owner_client.get(reverse("core:app_detail", args=[app.pk])).content.decode()
    assert "Include in automatic backups" in page
    owner_client.post(url, {"enabled": "on"})
    app.refresh_from_db()
    assert app.automatic_backups is True


def test_an_outsider_cannot_switch_automatic_backups(outsider_client, make_app):
    app = make_app()
    url = reverse("backups:app_automatic_backups", args=[app.pk])
    assert outsider_client.post(url, {"enabled": "off"}).status_code == 403
    assert outsider_client.get(url).status_code == 405
    app.refresh_from_db()
    assert app.automatic_backups is True


def test_after_the_key_file_is_replaced_the_owner_enters_the_recovery_key_again(target_folder):
    from panel.backups import encryption

    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    recovery_key = target.password
    # The key file is lost (a restore of HEARTH_HOME without it, say): a new one is made.
    # Put back afterwards: a worker of this test session keeps the key it read.
    original = key_path().read_bytes()
    key_path().unlink()
    encryption._fernet.cache_clear()
    try:
        lost = BackupTarget.objects.get(pk=target.pk)
        assert lost.password == ""  # the pages still open; restic refuses the empty key
        with pytest.raises(ActionRejected) as caught:
            update_target(lost, password="not-the-recovery-key")
        assert "password" in caught.value.errors["password"]
        update_target(lost, password=recovery_key)
        assert BackupTarget.objects.get(pk=target.pk).password == recovery_key
        assert recovery_key not in stored(target.pk, "password")
    finally:
        key_path().write_bytes(original)
        encryption._fernet.cache_clear()
