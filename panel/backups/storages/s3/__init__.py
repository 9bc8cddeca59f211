"""S3-compatible object storage (AWS, MinIO, Wasabi, ...): the restic repository lives under
`prefix` in `bucket`. The check talks S3 with boto3 to say precisely what is wrong."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

# boto3 (~30 MiB) is imported where it is used: every panel and worker process loads this
# module, few ever talk to S3.
from panel.backups.storages import register
from panel.backups.storages.base import PROBE_PREFIX, BackupStorage

if TYPE_CHECKING:
    from panel.backups.models import BackupTarget

AWS_ENDPOINT = "https://s3.amazonaws.com"

# S3 error codes → (field, what to tell the owner).
CLIENT_ERRORS: dict[str, tuple[str, str]] = {
    "NoSuchBucket": ("bucket", "There is no bucket named {bucket} at {endpoint}."),
    "InvalidAccessKeyId": ("access_key", "The storage does not know this access key."),
    "SignatureDoesNotMatch": ("secret_key", "The secret key does not match the access key."),
    "AccessDenied": (
        "access_key",
        "These keys may not {step} in bucket {bucket}; grant them read, write and delete.",
    ),
    "AuthorizationHeaderMalformed": (
        "region",
        "Wrong region {region} for bucket {bucket}: the storage expects another one.",
    ),
    "PermanentRedirect": ("region", "Bucket {bucket} lives in another region than {region}."),
    "IllegalLocationConstraintException": (
        "region",
        "Bucket {bucket} lives in another region than {region}.",
    ),
}


def _endpoint(target: BackupTarget) -> str:
    return (target.endpoint or AWS_ENDPOINT).rstrip("/")


def _prefix(target: BackupTarget) -> str:
    return (target.prefix or "").strip("/")


@register
class S3Storage(BackupStorage):
    kind = "s3"
    label = "S3-compatible storage"
    fields = ("endpoint", "region", "bucket", "prefix", "access_key", "secret_key")
    required = ("bucket", "access_key", "secret_key")

    def client(self, target: BackupTarget):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=_endpoint(target),
            region_name=target.region or "us-east-1",
            aws_access_key_id=target.access_key,
            aws_secret_access_key=target.secret_key,
            config=Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 1}, s3={}),
        )

    def check(self, target: BackupTarget) -> dict[str, str]:
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

        errors = self.missing_fields(target)
        if errors:
            return errors
        endpoint = _endpoint(target)
        if urlsplit(endpoint).scheme not in ("http", "https") or not urlsplit(endpoint).netloc:
            return {"endpoint": "Use a URL such as https://s3.eu-central-1.amazonaws.com."}
        client = self.client(target)
        key = "/".join(filter(None, [_prefix(target), f"{PROBE_PREFIX}{secrets.token_hex(6)}"]))
        step = "write"
        try:
            wrong_region = self._region_problem(client, target)
            if wrong_region:
                return {"region": wrong_region}
            client.put_object(Bucket=target.bucket, Key=key, Body=b"hearth")
            step = "list"
            listed = client.list_objects_v2(Bucket=target.bucket, Prefix=key)
            if not any(item["Key"] == key for item in listed.get("Contents", [])):
                return {"bucket": f"An object written to {target.bucket} does not show in a list."}
            step = "delete"
            client.delete_object(Bucket=target.bucket, Key=key)
        except EndpointConnectionError:
            return {"endpoint": f"Nothing answers at {endpoint}; check the address and port."}
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            field, message = CLIENT_ERRORS.get(
                code,
                ("bucket", "The storage refused to {step} (" + code + ": {detail})."),
            )
            return {
                field: message.format(
                    bucket=target.bucket,
                    endpoint=endpoint,
                    region=target.region or "us-east-1",
                    step=step,
                    detail=exc.response.get("Error", {}).get("Message", str(exc)),
                )
            }
        except BotoCoreError as exc:
            return {"endpoint": f"Could not {step} at {endpoint}: {exc}."}
        return {}

    def _region_problem(self, client, target: BackupTarget) -> str:
        """Where the storage says the bucket lives, if that is not the region given.

        AWS refuses requests signed for the wrong region, but other S3 services (and moto)
        accept them, and restic would then talk to the wrong place: ask the bucket instead.
        """
        from botocore.exceptions import ClientError

        if not target.region:
            return ""
        try:
            answer = client.get_bucket_location(Bucket=target.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
                raise
            # Not every service (or key) may ask; the write below still says what fails.
            return ""
        # S3 answers None for us-east-1, its original region; some services answer "".
        location = answer.get("LocationConstraint") or ""
        if location and location != target.region:
            return f"Bucket {target.bucket} is in region {location}, not {target.region}."
        return ""

    def repository_location(self, target: BackupTarget) -> str:
        path = "/".join(filter(None, [target.bucket, _prefix(target)]))
        return f"s3:{_endpoint(target)}/{path}"

    def repository_env(self, target: BackupTarget) -> dict[str, str]:
        env = {
            "AWS_ACCESS_KEY_ID": target.access_key,
            "AWS_SECRET_ACCESS_KEY": target.secret_key,
        }
        if target.region:
            env["AWS_DEFAULT_REGION"] = target.region
        return env
