"""Fixtures of the backup tests: moto's standalone S3 server on a free port, once per
session, and backup target folders inside the session's own HEARTH_HOME."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.fixtures_addons import _free_port, wait_for_port


@pytest.fixture(scope="session")
def s3_server():
    """A real S3 protocol server (moto_server); yields its endpoint URL."""
    yield from _moto_server("moto-server")


@pytest.fixture
def s3_server_with_keys():
    """A moto server of its own that checks keys (moto checks none by default).

    Yields (endpoint, access key, secret key) of an IAM user allowed everything on S3, and a
    bucket named "keyed" to use them on.
    """
    import json

    import boto3
    import requests

    for endpoint in _moto_server("moto-server-keys"):
        anyone = {
            "endpoint_url": endpoint,
            "region_name": "us-east-1",
            "aws_access_key_id": "setup",
            "aws_secret_access_key": "setup",
        }
        iam = boto3.client("iam", **anyone)
        iam.create_user(UserName="hearth")
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        }
        iam.put_user_policy(
            UserName="hearth", PolicyName="backups", PolicyDocument=json.dumps(policy)
        )
        key = iam.create_access_key(UserName="hearth")["AccessKey"]
        boto3.client("s3", **anyone).create_bucket(Bucket="keyed")
        # From here on every request must be signed with a known key.
        requests.post(f"{endpoint}/moto-api/reset-auth", data="0", timeout=10).raise_for_status()
        yield endpoint, key["AccessKeyId"], key["SecretAccessKey"]


def _moto_server(name: str):
    port = _free_port()
    log_path = Path(settings.HEARTH_HOME) / f"{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def s3_bucket(s3_server):
    """Makes a bucket on the session's S3 server; returns a function name → name."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="hearth-test",
        aws_secret_access_key="hearth-test-secret",
    )

    def _make(name: str) -> str:
        client.create_bucket(Bucket=name)
        return name

    return _make


@pytest.fixture
def target_folder(request) -> Path:
    """A fresh folder for a filesystem target, under this session's HEARTH_HOME."""
    folder = Path(settings.HEARTH_HOME) / "backup-targets" / request.node.name[:60]
    return folder


def damaged_backup(app, target, folder: Path):
    """A snapshot of `app` whose configuration reads fine but whose /app/data archive is not
    a tar: restoring or cloning it fails after the work has begun."""
    import json

    from panel.backups.models import Backup
    from panel.backups.restic import Restic, backup_tags
    from panel.backups.services import CONFIG_FILE, app_configuration

    damaged = folder / "damaged"
    (damaged / "localstorage").mkdir(parents=True)
    (damaged / "localstorage" / "data.tar").write_bytes(b"not a tar archive" * 100)
    (damaged / CONFIG_FILE).write_text(json.dumps(app_configuration(app)))
    summary = Restic(target.repository()).backup(
        damaged, backup_tags(app.id.hex, app.version, "manual"), host="elsewhere"
    )
    return Backup.objects.create(
        app=app,
        app_label=str(app),
        app_uid=app.id.hex,
        target=target,
        snapshot_id=summary.snapshot_id,
        app_version=app.version,
    )
