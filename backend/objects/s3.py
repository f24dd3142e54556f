"""Attachments in an S3-compatible object store (boto3), under ``<prefix>/sha256/<hex>``.

Puts are idempotent with ``If-None-Match: *``: the store refuses (412) to overwrite a key that exists, so two API
processes storing the same bytes race harmlessly and the first object stays (moto 5.2 and S3 honour it; a store
that does not would overwrite with an equivalent sealed copy of the same bytes). Retention is the backend's purge
(by receipt time) plus, as a backstop, a lifecycle rule that expires objects tagged ``retention=school`` a day
after ``school.snapshot_retention_days``; evidence and traffic media carry no such tag.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from backend.objects.config import MediaStoreSettings

logger = logging.getLogger(__name__)
LIFECYCLE_RULE_ID = "kuzet-school-snapshots"
TAG_RETENTION = "retention"


def client_of(settings: MediaStoreSettings) -> Any:
    """A boto3 S3 client for these settings (path-style addressing, bounded timeouts and retries)."""
    keys: dict[str, str] = {}
    if settings.access_key_id is not None and settings.secret_access_key is not None:
        keys = {
            "aws_access_key_id": settings.access_key_id,
            "aws_secret_access_key": settings.secret_access_key.get_secret_value(),
        }
    config = Config(
        s3={"addressing_style": "path"},
        connect_timeout=settings.timeout_s,
        read_timeout=settings.timeout_s,
        retries={"max_attempts": 3, "mode": "standard"},
        max_pool_connections=32,
    )
    return boto3.client("s3", endpoint_url=settings.endpoint_url, region_name=settings.region, config=config, **keys)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3ObjectStore:
    """Objects ``<prefix>/sha256/<hex>`` in one bucket."""

    def __init__(self, settings: MediaStoreSettings, client: Any | None = None) -> None:
        self.bucket = settings.bucket
        self.prefix = settings.prefix
        self.client = client if client is not None else client_of(settings)

    def key(self, sha256: str) -> str:
        """The object key of ``sha256``."""
        return f"{self.prefix}/sha256/{sha256}" if self.prefix else f"sha256/{sha256}"

    def put(self, sha256: str, data: bytes, *, replace: bool = False, tags: Mapping[str, str] | None = None) -> bool:
        """PUT with ``If-None-Match: *`` (unless ``replace``); False when the object was already there."""
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key(sha256), "Body": data}
        if tags:
            args["Tagging"] = urlencode(dict(tags))
        if not replace:
            args["IfNoneMatch"] = "*"
        try:
            self.client.put_object(**args)
        except ClientError as exc:
            if _code(exc) in ("PreconditionFailed", "412"):
                return False
            raise
        return True

    def get(self, sha256: str) -> bytes | None:
        """The object's bytes, or None when there is none."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        return bytes(answer["Body"].read())

    def delete(self, sha256: str) -> None:
        """DELETE the object (S3 answers 204 whether or not it was there)."""
        self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))

    def where(self, sha256: str) -> str:
        """``s3://bucket/key``."""
        return f"s3://{self.bucket}/{self.key(sha256)}"

    def prepare(self, settings: MediaStoreSettings, school_retention_days: int) -> None:
        """Create the bucket if asked and it is missing; install the lifecycle rule if asked."""
        if settings.create_bucket:
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if _code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                    raise
                try:
                    self.client.create_bucket(Bucket=self.bucket)
                    logger.info("created bucket %s", self.bucket)
                except ClientError as race:  # another process created it meanwhile
                    if _code(race) != "BucketAlreadyOwnedByYou":
                        raise
        if settings.lifecycle:
            self.client.put_bucket_lifecycle_configuration(
                Bucket=self.bucket, LifecycleConfiguration={"Rules": [self.lifecycle_rule(school_retention_days)]}
            )

    def lifecycle_rule(self, school_retention_days: int) -> dict[str, Any]:
        """Expire objects tagged ``retention=school`` under the prefix a day after the snapshot retention."""
        prefix = f"{self.prefix}/sha256/" if self.prefix else "sha256/"
        return {
            "ID": LIFECYCLE_RULE_ID,
            "Status": "Enabled",
            "Filter": {"And": {"Prefix": prefix, "Tags": [{"Key": TAG_RETENTION, "Value": "school"}]}},
            "Expiration": {"Days": school_retention_days + 1},
        }
