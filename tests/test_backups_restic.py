"""The restic wrapper: how it builds commands and reads restic's JSON, and the real restic
binary on a folder repository (fast: no Django, no Docker)."""

from __future__ import annotations

import json
import os

import pytest

from panel.backups.restic import (
    Repository,
    Restic,
    ResticError,
    backup_args,
    backup_tags,
    build_command,
    build_env,
    describe_failure,
    forget_args,
    parse_backup_output,
    parse_snapshots_output,
)

SUMMARY = {
    "message_type": "summary",
    "files_new": 1,
    "files_changed": 0,
    "files_unmodified": 2,
    "data_added": 1060,
    "total_bytes_processed": 6,
    "total_duration": 0.21,
    "snapshot_id": "42c3fe48",
}


def test_the_password_is_never_on_the_command_line():
    repository = Repository(location="/srv/backups", password="s3cret-key")
    command = build_command(repository, *backup_args(["app:x"], host="h"))
    assert not any("s3cret" in part for part in command)
    assert build_env(repository, base={})["RESTIC_PASSWORD"] == "s3cret-key"


def test_a_password_file_in_the_worker_environment_does_not_override_the_targets_password():
    repository = Repository(location="/r", password="mine", env={"AWS_ACCESS_KEY_ID": "k"})
    env = build_env(repository, base={"RESTIC_PASSWORD_FILE": "/etc/other", "PATH": "/bin"})
    assert "RESTIC_PASSWORD_FILE" not in env
    assert env["AWS_ACCESS_KEY_ID"] == "k"
    assert env["PATH"] == "/bin"


def test_backup_arguments_tag_app_version_and_reason_and_back_up_the_current_folder():
    args = backup_args(backup_tags("abc", "1.2.0", "manual"), host="hearth1")
    assert args == [
        "backup",
        "--json",
        "--host",
        "hearth1",
        "--tag",
        "app:abc",
        "--tag",
        "version:1.2.0",
        "--tag",
        "reason:manual",
        ".",
    ]


def test_forget_arguments_carry_the_keep_rules_and_prune():
    args = forget_args(["app:abc"], keep_daily=7, keep_weekly=4)
    assert args[:3] == ["forget", "--json", "--prune"]
    assert args[-6:] == ["--tag", "app:abc", "--keep-daily", "7", "--keep-weekly", "4"]


def test_forget_without_any_keep_rule_is_refused_rather_than_deleting_everything():
    with pytest.raises(ValueError):
        forget_args(["app:abc"])


def test_the_backup_summary_is_read_from_the_last_json_line():
    stdout = '{"message_type":"status","percent_done":0}\n' + json.dumps(SUMMARY) + "\n"
    summary = parse_backup_output(stdout)
    assert summary.snapshot_id == "42c3fe48"
    assert summary.data_added == 1060
    assert summary.total_bytes_processed == 6
    assert summary.files_unmodified == 2


def test_a_backup_without_summary_is_an_error():
    with pytest.raises(ResticError):
        parse_backup_output('{"message_type":"status","percent_done":0.5}\n')


def test_snapshots_json_gives_tags_by_key():
    stdout = json.dumps(
        [
            {
                "time": "2026-11-25T23:51:31Z",
                "paths": ["/x"],
                "hostname": "h",
                "tags": ["app:abc", "version:1.0.0", "reason:manual"],
                "id": "42c3fe48ad83",
                "short_id": "42c3fe48",
            }
        ]
    )
    [snapshot] = parse_snapshots_output(stdout)
    assert snapshot.tag("version") == "1.0.0"
    assert snapshot.tag("reason") == "manual"
    assert snapshot.tag("missing") is None


def test_a_wrong_password_is_named_as_such():
    error = describe_failure("Fatal: wrong password or no key found\n")
    assert error.wrong_password
    assert "password" in str(error)


def test_a_missing_repository_is_named_as_such():
    error = describe_failure(
        "Fatal: unable to open config file: stat /r/config: no such file or directory\n"
        "Is there a repository at the following location?\n/r\n"
    )
    assert error.no_repository
    assert not error.wrong_password


# The real binary --------------------------------------------------------------------------
def test_restic_backs_up_restores_and_deduplicates_a_folder(tmp_path):
    repository = Repository(
        location=str(tmp_path / "repo"), password="pw", cache_dir=str(tmp_path / "cache")
    )
    restic = Restic(repository)
    assert restic.ensure_initialised() is True
    assert restic.ensure_initialised() is False
    data = tmp_path / "data"
    data.mkdir()
    payload = os.urandom(512 * 1024)
    (data / "blob").write_bytes(payload)

    first = restic.backup(data, backup_tags("abc", "1.0.0", "manual"), host="h")
    second = restic.backup(data, backup_tags("abc", "1.0.0", "scheduled"), host="h")
    assert first.data_added >= len(payload)
    assert second.data_added < 16 * 1024

    [snapshot] = restic.snapshots(["reason:scheduled"])
    assert snapshot.id.startswith(second.snapshot_id)
    restic.restore(first.snapshot_id, tmp_path / "out")
    assert (tmp_path / "out" / "blob").read_bytes() == payload
    restic.check()
    assert len(restic.forget(["app:abc"], keep_daily=1)) == 1


def test_restic_with_the_wrong_password_reads_nothing(tmp_path):
    Restic(Repository(location=str(tmp_path / "repo"), password="right")).init()
    wrong = Restic(Repository(location=str(tmp_path / "repo"), password="wrong"))
    with pytest.raises(ResticError) as caught:
        wrong.snapshots()
    assert caught.value.wrong_password
