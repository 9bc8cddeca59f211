"""Clone and import requests, checked before anything is made: the repository and the key,
the location, the image; and the mysql dump rewrite that keeps a clone off its source."""

from __future__ import annotations

import json

import pytest

from addons.mysql.addon import retarget_dump
from panel.backups.clone import request_clone
from panel.backups.importing import app_snapshots, open_source, request_import
from panel.backups.models import Backup, BackupTarget
from panel.backups.restic import Restic, backup_tags
from panel.backups.services import CONFIG_FILE
from panel.core.models import AppInstance, Task
from panel.core.services import ActionRejected, request_app_action

SOURCE = "a" * 32
CLONE = "b" * 32


def test_a_mysql_dump_of_another_app_is_rewritten_to_this_apps_databases_but_not_its_rows(
    tmp_path,
):
    dump = tmp_path / "mysqldump.sql"
    dump.write_bytes(
        b"-- Current Database: `db" + SOURCE.encode() + b"`\n"
        b"/*!40000 DROP DATABASE IF EXISTS `db" + SOURCE.encode() + b"`*/;\n"
        b"CREATE DATABASE /*!32312 IF NOT EXISTS*/ `db" + SOURCE.encode() + b"` ;\n"
        b"USE `db" + SOURCE.encode() + b"`;\n"
        b"INSERT INTO `notes` VALUES (1,'see `db" + SOURCE.encode() + b"`');\n"
        b"USE `db" + SOURCE.encode() + b"_extra`;\n"
        b"/*!50013 DEFINER=`db" + SOURCE.encode() + b"`@`%` SQL SECURITY DEFINER */\n"
    )
    rewritten = retarget_dump(dump, CLONE, tmp_path / "out.sql").read_bytes()
    lines = rewritten.splitlines()
    assert SOURCE.encode() not in b"\n".join(line for line in lines if b"INSERT" not in line)
    assert lines[1] == b"/*!40000 DROP DATABASE IF EXISTS `db" + CLONE.encode() + b"`*/;"
    assert lines[3] == b"USE `db" + CLONE.encode() + b"`;"
    assert lines[4] == b"INSERT INTO `notes` VALUES (1,'see `db" + SOURCE.encode() + b"`');"
    assert lines[5] == b"USE `db" + CLONE.encode() + b"_extra`;"
    assert b"DEFINER=`db" + CLONE.encode() + b"`@" in lines[6]


def test_a_mysql_dump_restored_into_its_own_app_is_loaded_as_it_is(tmp_path):
    dump = tmp_path / "mysqldump.sql"
    dump.write_bytes(b"USE `db" + SOURCE.encode() + b"`;\n")
    assert retarget_dump(dump, SOURCE, tmp_path / "out.sql") == dump
    empty = tmp_path / "empty.sql"
    empty.write_bytes(b"")
    assert retarget_dump(empty, CLONE, tmp_path / "out2.sql") == empty


def _repository_with_snapshot(folder, tmp_path, configuration: dict) -> tuple[str, str]:
    """A real restic repository holding one app snapshot; returns (key, snapshot id)."""
    key = "the-recovery-key"
    restic = Restic(BackupTarget(kind="filesystem", path=str(folder), password=key).repository())
    folder.mkdir(parents=True)
    restic.init()
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / CONFIG_FILE).write_text(json.dumps(configuration))
    summary = restic.backup(staging, backup_tags(SOURCE, "1.0.0", "manual"), host="old")
    return key, summary.snapshot_id


CONFIGURATION = {
    "store_app_id": "io.hearth.staticsite",
    "title": "Old Site",
    "version": "1.0.0",
    "image": "127.0.0.1:5000/hearth-tests/gone@sha256:" + "0" * 64,
    "manifest": {"httpPort": 8000},
    "memory_limit": 1,
    "location": {"subdomain": "old", "domain": "example.org"},
}


@pytest.mark.django_db
def test_opening_backups_refuses_a_missing_folder_an_empty_one_and_a_wrong_key(tmp_path):
    missing = tmp_path / "nothing-here"
    with pytest.raises(ActionRejected) as caught:
        open_source("filesystem", "key", path=str(missing))
    assert caught.value.errors == {"path": f"There is no folder {missing} on this server."}
    assert not missing.exists()  # an import creates nothing where there are no backups

    with pytest.raises(ActionRejected) as caught:
        open_source("filesystem", "", path=str(tmp_path))
    assert "recovery_key" in caught.value.errors

    with pytest.raises(ActionRejected) as caught:
        open_source("filesystem", "key", path=str(tmp_path))
    assert "no restic repository" in caught.value.errors["path"]

    folder = tmp_path / "repo"
    key, _ = _repository_with_snapshot(folder, tmp_path, CONFIGURATION)
    with pytest.raises(ActionRejected) as caught:
        open_source("filesystem", "not-the-key", path=str(folder))
    assert caught.value.errors == {
        "recovery_key": "This recovery key does not open the backups there."
    }
    assert not BackupTarget.objects.exists()


@pytest.mark.django_db
def test_an_import_of_an_image_this_hearth_lacks_names_the_image_and_creates_nothing(
    tmp_path, domain, docker_runtime
):
    folder = tmp_path / "repo"
    key, snapshot_id = _repository_with_snapshot(folder, tmp_path, CONFIGURATION)
    target = open_source("filesystem", key, path=str(folder))
    [found] = app_snapshots(target)
    assert (found.title, found.location, found.app_uid) == ("Old Site", "old.example.org", SOURCE)
    assert CONFIGURATION["image"] in found.image_problem

    with pytest.raises(ActionRejected) as caught:
        request_import(
            kind="filesystem",
            path=str(folder),
            recovery_key=key,
            snapshot_id=snapshot_id,
            subdomain="old",
            domain=domain,
        )
    assert (
        f"image {CONFIGURATION['image']} is not in this Hearth's registry"
        in (caught.value.errors["snapshot"])
    )
    assert not BackupTarget.objects.exists()
    assert not Backup.objects.exists()
    assert not AppInstance.objects.exists()


@pytest.mark.django_db
def test_a_clone_to_a_taken_location_is_refused_with_field_errors_and_nothing_is_made(
    make_app, domain, owner_client
):
    source = make_app("blog")
    target = BackupTarget.objects.create(name="disk", kind="filesystem", path="/x", password="k")
    backup = Backup.objects.create(
        app=source, app_label=str(source), app_uid=source.id.hex, target=target, snapshot_id="1"
    )
    with pytest.raises(ActionRejected) as caught:
        request_clone(backup, subdomain="blog", domain=domain)
    assert caught.value.errors == {
        "subdomain": f"blog.{domain.name} is already used by another app."
    }
    with pytest.raises(ActionRejected) as caught:
        request_clone(backup, subdomain="-bad-", domain=None)
    assert set(caught.value.errors) == {"subdomain", "domain"}

    response = owner_client.post(
        f"/backups/apps/{source.pk}/clone/{backup.pk}/", {"subdomain": "blog", "domain": domain.pk}
    )
    assert response.status_code == 400
    assert "is already used by another app" in response.content.decode()
    assert AppInstance.objects.count() == 1
    assert not Task.objects.exists()


@pytest.mark.django_db
def test_the_clone_page_lists_the_snapshot_and_the_backups_list_links_to_it(
    make_app, domain, owner_client
):
    source = make_app("blog")
    target = BackupTarget.objects.create(name="disk", kind="filesystem", path="/x", password="k")
    backup = Backup.objects.create(
        app=source, app_label=str(source), app_uid=source.id.hex, target=target, snapshot_id="1"
    )
    page = owner_client.get(f"/backups/apps/{source.pk}/clone/{backup.pk}/").content.decode()
    assert "keeps running untouched" in page and 'name="subdomain"' in page
    detail = owner_client.get(f"/apps/{source.pk}/").content.decode()
    assert f"/backups/apps/{source.pk}/clone/{backup.pk}/" in detail


@pytest.mark.django_db
def test_retrying_a_failed_clone_clones_again_and_retrying_a_cloned_app_reinstalls(make_app):
    app = make_app("copy", state="error")
    Task.objects.create(kind=Task.Kind.CLONE, app=app, state="failed", params={"backup": 7})
    retry = request_app_action(app, "retry")
    assert (retry.kind, retry.params["backup"]) == (Task.Kind.CLONE, 7)
    app.refresh_from_db()
    assert app.state == "pending_install"

    done = make_app("done", state="error")
    Task.objects.create(kind=Task.Kind.CLONE, app=done, state="succeeded", params={"backup": 7})
    assert request_app_action(done, "retry").kind == Task.Kind.INSTALL


@pytest.mark.django_db
def test_backups_in_s3_open_with_the_key_and_an_import_reuses_the_target_saved_for_that_place(
    s3_server, s3_bucket
):
    from panel.backups.importing import _saved_target
    from panel.backups.services import create_target

    s3_bucket("hearth-import")
    keys = {"access_key": "hearth-test", "secret_key": "hearth-test-secret", "region": "us-east-1"}
    place = {"endpoint": s3_server, "bucket": "hearth-import", **keys}
    saved = create_target(name="cloud", kind="s3", prefix="apps", **place)

    with pytest.raises(ActionRejected) as caught:
        open_source("s3", "not-the-key", prefix="apps", **place)
    assert set(caught.value.errors) == {"recovery_key"}
    with pytest.raises(ActionRejected) as caught:
        open_source("s3", saved.password, prefix="elsewhere", **place)
    assert "no restic repository" in caught.value.errors["bucket"]

    opened = open_source("s3", saved.password, prefix="apps", **place)
    assert opened.location == saved.location and opened.pk is None
    assert _saved_target(opened) == saved
    assert BackupTarget.objects.count() == 1


@pytest.mark.django_db
def test_a_clone_keeps_who_may_sign_in_matched_by_name_to_this_hearths_people(
    make_app, django_user_model
):
    from django.contrib.auth.models import Group

    from panel.accounts.models import AppAccess
    from panel.backups.clone import _copy_access

    alice = django_user_model.objects.create_user("alice", "alice@example.com", "pw")
    family = Group.objects.create(name="family")
    app = make_app("copy")
    _copy_access(
        app, {"mode": "restricted", "users": ["alice", "gone"], "groups": ["family"]}, None
    )
    access = AppAccess.objects.get(app=app)
    assert access.mode == "restricted"
    assert list(access.users.all()) == [alice] and list(access.groups.all()) == [family]


@pytest.mark.django_db
def test_the_import_page_lists_what_the_backups_hold_and_offers_the_apps_old_place(
    tmp_path, domain, owner_client, docker_runtime
):
    folder = tmp_path / "repo"
    configuration = {**CONFIGURATION, "location": {"subdomain": "old", "domain": domain.name}}
    key, snapshot_id = _repository_with_snapshot(folder, tmp_path, configuration)
    response = owner_client.post(
        "/backups/import/", {"kind": "filesystem", "path": str(folder), "recovery_key": key}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Old Site" in page and f"old.{domain.name}" in page
    assert 'name="subdomain" value="old"' in page
    # Its image is not in this Hearth's registry: said, and the snapshot cannot be picked.
    assert f"The backup&#x27;s image {CONFIGURATION['image']} is not in this Hearth" in page
    assert f'id="pick-{snapshot_id[:8]}" disabled' in page
    assert not BackupTarget.objects.exists()


def test_a_snapshot_without_a_usable_app_configuration_is_refused_with_the_reason(tmp_path):
    from panel.backups.clone import read_configuration
    from panel.backups.restic import ResticError

    folder = tmp_path / "repo"
    key, incomplete = _repository_with_snapshot(folder, tmp_path, {"title": "Half"})
    restic = Restic(BackupTarget(kind="filesystem", path=str(folder), password=key).repository())
    with pytest.raises(ResticError, match="app.json lacks store_app_id, version, image"):
        read_configuration(restic, incomplete)
    other = tmp_path / "not-hearth"
    other.mkdir()
    (other / "notes.txt").write_text("just files")
    foreign = restic.backup(other, ["app:" + SOURCE], host="old").snapshot_id
    with pytest.raises(ResticError, match="holds no Hearth app backup"):
        read_configuration(restic, foreign)


@pytest.mark.django_db
def test_the_import_api_lists_snapshots_refuses_a_wrong_key_and_imports_one(
    tmp_path, domain, owner_client, publish
):
    release = publish("staticsite")
    folder = tmp_path / "repo"
    configuration = {**CONFIGURATION, "image": release.pinned_image, "manifest": release.manifest}
    key, earlier_id = _repository_with_snapshot(folder, tmp_path, configuration)
    # A second, later snapshot of the same app: the one imported; the first comes along.
    restic = Restic(BackupTarget(kind="filesystem", path=str(folder), password=key).repository())
    snapshot_id = restic.backup(
        tmp_path / "staging", backup_tags(SOURCE, "1.0.1", "scheduled"), host="old"
    ).snapshot_id
    source = {"kind": "filesystem", "path": str(folder), "recovery_key": key}

    def post(url: str, body: dict):
        return owner_client.post(url, json.dumps(body), content_type="application/json")

    wrong = post("/api/v1/import/snapshots/", {**source, "recovery_key": "nope"})
    assert wrong.status_code == 400
    assert "does not open" in wrong.json()["errors"]["recovery_key"]

    listed = post("/api/v1/import/snapshots/", source).json()["snapshots"]
    assert [(s["short_id"], s["title"], s["image_problem"]) for s in listed] == [
        (snapshot_id[:8], "Old Site", ""),
        (earlier_id[:8], "Old Site", ""),
    ]
    assert not BackupTarget.objects.exists()  # listing saves nothing

    nowhere = post("/api/v1/import/", {**source, "snapshot_id": snapshot_id, "subdomain": "old"})
    assert nowhere.status_code == 400 and "domain" in nowhere.json()["errors"]
    body = {**source, "snapshot_id": snapshot_id, "subdomain": "old", "domain": domain.name}
    imported = post("/api/v1/import/", body)
    assert imported.status_code == 202, imported.content
    app = AppInstance.objects.get()
    assert imported.json()["app"]["id"] == str(app.id)
    assert (app.fqdn, app.title) == (f"old.{domain.name}", "Old Site")
    assert imported.json()["task"]["kind"] == Task.Kind.IMPORT
    assert BackupTarget.objects.get().location == str(folder)
    # Both snapshots are the imported app's backups, dated when taken, newest first; the
    # older one can be restored into it although it names the app's id on the old Hearth.
    rows = list(app.backups.all())
    assert [(b.snapshot_id[:8], b.app_version) for b in rows] == [
        (snapshot_id[:8], "1.0.1"),
        (earlier_id[:8], "1.0.0"),
    ]
    assert rows[0].created_at > rows[1].created_at
    from panel.backups.services import request_restore

    Task.objects.filter(app=app).update(state=Task.State.SUCCEEDED)  # as if it ran
    AppInstance.objects.filter(pk=app.pk).update(state="running")
    app.refresh_from_db()
    assert request_restore(app, rows[1]).kind == Task.Kind.RESTORE
