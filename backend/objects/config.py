"""Where attachment bytes live: the ``media`` section of the backend settings.

``store`` absent (the default): files under ``media_dir`` on the backend's own disk. ``store: s3://bucket/prefix``:
objects in an S3-compatible store (AWS S3, MinIO, Ceph RGW, moto) under ``prefix/sha256/<hex>``. Credentials are
optional (boto3's own chain: environment, instance role) and never logged.
"""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator, model_validator

from kuzet.config import StrictModel

S3_URL = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>[A-Za-z0-9._/-]{0,200}))?$")


class MediaStoreSettings(StrictModel):
    """The object store of attachments (snapshots, plate crops, evidence), by content hash."""

    store: str | None = Field(
        default=None,
        max_length=270,
        description="None: files under media_dir; s3://bucket/prefix: objects through the S3 API",
    )
    endpoint_url: str | None = Field(
        default=None,
        max_length=300,
        pattern=r"^https?://[^\s/@]+(:\d+)?/?$",
        description="S3 endpoint (MinIO, Ceph, a local server); None: AWS for the region",
    )
    region: str = Field(default="us-east-1", min_length=2, max_length=40, description="S3 region")
    access_key_id: str | None = Field(default=None, min_length=3, max_length=128, description="S3 access key id")
    secret_access_key: SecretStr | None = Field(
        default=None, min_length=3, max_length=256, description="S3 secret key (with access_key_id)"
    )
    create_bucket: bool = Field(default=False, description="Create the bucket at start when it is missing")
    lifecycle: bool = Field(
        default=True,
        description="Install a lifecycle rule expiring school snapshots a day after their retention (a backstop "
        "behind the purge, which deletes by receipt time)",
    )
    timeout_s: float = Field(default=10.0, gt=0.0, le=120.0, description="Connect and read timeout per request")

    @field_validator("store")
    @classmethod
    def _s3_url(cls, value: str | None) -> str | None:
        if value is not None and S3_URL.match(value) is None:
            raise ValueError("store must be s3://bucket/prefix (bucket: 3-63 lower-case letters, digits, . or -)")
        return value

    @model_validator(mode="after")
    def _keys_in_pairs(self) -> MediaStoreSettings:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("set both access_key_id and secret_access_key, or neither (boto3's own chain)")
        return self

    @property
    def bucket(self) -> str:
        """The bucket of ``store`` (s3 only)."""
        match = S3_URL.match(self.store or "")
        if match is None:
            raise ValueError("not an s3:// store")
        return match["bucket"]

    @property
    def prefix(self) -> str:
        """The key prefix of ``store`` without slashes at either end ('' for none)."""
        match = S3_URL.match(self.store or "")
        return (match["prefix"] or "").strip("/") if match else ""
