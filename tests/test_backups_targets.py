"""Backup targets: on save Hearth writes, lists and deletes there and opens (or creates) the
restic repository; whatever fails comes back as a field error and nothing is saved. S3 is
moto's real standalone server, never a stub."""

from __future__ import annotations

import pytest

from panel.backups.models import BackupTarget
from panel.backups.services import create_target
from panel.core.services import ActionRejected

pytestmark = pytest.mark.django_db

KEYS = {"access_key": "hearth-test", "secret_key": "hearth-test-secret", "region": "us-east-1"}


def test_a_folder_target_is_checked_initialised_and_saved_with_a_new_recovery_key(target_folder):
    target = create_target(name="disk", kind="filesystem", path=str(target_folder))
    assert BackupTarget.objects.get(name="disk") == target
    assert len(target.password) >= 32
    assert (target_folder / "config").is_file()
    # The write check cleaned up after itself.
    assert not [p for p in target_folder.iterdir() if p.name.startswith(".hearth-write-check")]


def test_a_folder_target_that_cannot_be_created_says_why_and_saves_nothing(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ActionRejected) as caught:
        create_target(name="disk", kind="filesystem", path=str(blocker / "backups"))
    assert "could not create the folder" in caught.value.errors["path"]
    assert not BackupTarget.objects.exists()


def test_a_relative_folder_is_refused():
    with pytest.raises(ActionRejected) as caught:
        create_target(name="disk", kind="filesystem", path="backups")
    assert "absolute" in caught.value.errors["path"]


def test_an_existing_repository_opens_only_with_its_recovery_key(target_folder):
    first = create_target(name="disk", kind="filesystem", path=str(target_folder))
    with pytest.raises(ActionRejected) as caught:
        create_target(name="again", kind="filesystem", path=str(target_folder), password="nope")
    assert "password" in caught.value.errors["password"]
    again = create_target(
        name="again", kind="filesystem", path=str(target_folder), password=first.password
    )
    assert again.location == first.location


def test_a_second_target_with_the_same_name_is_refused(target_folder):
    create_target(name="disk", kind="filesystem", path=str(target_folder))
    with pytest.raises(ActionRejected) as caught:
        create_target(name="disk", kind="filesystem", path=str(target_folder / "b"))
    assert "already" in caught.value.errors["name"]


def test_an_s3_target_names_the_missing_bucket(s3_server):
    with pytest.raises(ActionRejected) as caught:
        create_target(name="cloud", kind="s3", endpoint=s3_server, bucket="no-such-bucket", **KEYS)
    assert caught.value.errors == {
        "bucket": f"There is no bucket named no-such-bucket at {s3_server}."
    }
    assert not BackupTarget.objects.exists()


def test_an_s3_target_without_keys_asks_for_them(s3_server):
    with pytest.raises(ActionRejected) as caught:
        create_target(name="cloud", kind="s3", endpoint=s3_server, bucket="b")
    assert set(caught.value.errors) == {"access_key", "secret_key"}


def test_an_s3_endpoint_where_nothing_listens_is_named(s3_bucket):
    from tests.fixtures_addons import _free_port

    endpoint = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(ActionRejected) as caught:
        create_target(name="cloud", kind="s3", endpoint=endpoint, bucket="b", **KEYS)
    assert "Nothing answers" in caught.value.errors["endpoint"]


def test_an_s3_target_with_a_bucket_gets_a_restic_repository_under_its_prefix(s3_server, s3_bucket):
    bucket = s3_bucket("hearth-targets-ok")
    target = create_target(
        name="cloud", kind="s3", endpoint=s3_server, bucket=bucket, prefix="/hearth/", **KEYS
    )
    assert target.location == f"s3:{s3_server}/{bucket}/hearth"
    import boto3

    client = boto3.client("s3", endpoint_url=s3_server, **_boto_keys())
    keys = [item["Key"] for item in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert "hearth/config" in keys
    assert not [key for key in keys if ".hearth-write-check" in key]


def _boto_keys() -> dict[str, str]:
    return {
        "aws_access_key_id": KEYS["access_key"],
        "aws_secret_access_key": KEYS["secret_key"],
        "region_name": KEYS["region"],
    }


def test_an_s3_target_names_an_unknown_access_key_and_a_wrong_secret_key(s3_server_with_keys):
    endpoint, access_key, secret_key = s3_server_with_keys
    common = {"name": "cloud", "kind": "s3", "endpoint": endpoint, "bucket": "keyed"}
    with pytest.raises(ActionRejected) as caught:
        create_target(**common, access_key="AKIAUNKNOWN0000000", secret_key="x")
    assert caught.value.errors == {"access_key": "The storage does not know this access key."}
    with pytest.raises(ActionRejected) as caught:
        create_target(**common, access_key=access_key, secret_key="not-the-secret")
    assert caught.value.errors == {"secret_key": "The secret key does not match the access key."}
    target = create_target(**common, access_key=access_key, secret_key=secret_key)
    assert target.location == f"s3:{endpoint}/keyed"


def test_an_s3_target_names_the_region_its_bucket_really_is_in(s3_server):
    import boto3

    client = boto3.client(
        "s3", endpoint_url=s3_server, **{**_boto_keys(), "region_name": "eu-west-1"}
    )
    client.create_bucket(
        Bucket="hearth-in-ireland", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    keys = {**KEYS, "region": "us-west-2"}
    with pytest.raises(ActionRejected) as caught:
        create_target(
            name="cloud", kind="s3", endpoint=s3_server, bucket="hearth-in-ireland", **keys
        )
    assert caught.value.errors == {
        "region": "Bucket hearth-in-ireland is in region eu-west-1, not us-west-2."
    }
    keys["region"] = "eu-west-1"
    target = create_target(
        name="cloud", kind="s3", endpoint=s3_server, bucket="hearth-in-ireland", **keys
    )
    assert target.repository().env["AWS_DEFAULT_REGION"] == "eu-west-1"
