"""Object stores of attachments: the filesystem default and S3 (moto's real server), and the app on S3."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pydantic import ValidationError

from backend.app import create_app
from backend.objects.base import ObjectStore
from backend.objects.config import MediaStoreSettings
from backend.objects.files import FileObjectStore
from backend.objects.s3 import S3ObjectStore
from backend.services.media import MAGIC
from backend.settings import Settings
from kuzet.city.s3 import LocalS3
from tests.backend.conftest import ADMIN, TEMPLATE_KEY
from tests.support.s3 import moto_s3


@pytest.fixture(scope="module")
def s3() -> Iterator[LocalS3]:
    with moto_s3() as server:
        yield server


def _s3_store(s3: LocalS3, bucket: str, prefix: str = "") -> S3ObjectStore:
    settings = MediaStoreSettings.model_validate(s3.media_section(f"s3://{bucket}/{prefix}", lifecycle=False))
    store = S3ObjectStore(settings)
    store.prepare(settings, 30)
    return store


@pytest.mark.parametrize("kind", ["files", "s3"])
def test_put_is_idempotent_get_and_delete(kind: str, s3: LocalS3, tmp_path: Path) -> None:
    store: ObjectStore = FileObjectStore(tmp_path) if kind == "files" else _s3_store(s3, "put-get", "city/a")
    sha = hashlib.sha256(b"first").hexdigest()
    assert store.get(sha) is None
    assert store.put(sha, b"first") is True
    assert store.put(sha, b"second") is False  # If-None-Match: * (S3) / file exists: the first object stays
    assert store.get(sha) == b"first"
    assert store.put(sha, b"sealed", replace=True) is True
    assert store.get(sha) == b"sealed"
    store.delete(sha)
    store.delete(sha)  # deleting what is gone is not an error
    assert store.get(sha) is None


def test_s3_keys_are_content_hashes_under_the_prefix(s3: LocalS3) -> None:
    store = _s3_store(s3, "layout", "city/media")
    sha = hashlib.sha256(b"x").hexdigest()
    store.put(sha, b"x", tags={"retention": "school"})
    keys = [o["Key"] for o in s3.client().list_objects_v2(Bucket="layout")["Contents"]]
    assert keys == [f"city/media/sha256/{sha}"] and store.where(sha) == f"s3://layout/city/media/sha256/{sha}"
    tags = s3.client().get_object_tagging(Bucket="layout", Key=keys[0])["TagSet"]
    assert tags == [{"Key": "retention", "Value": "school"}]


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 90)).save(out, format="JPEG")
    return out.getvalue()


def test_app_stores_sealed_media_in_s3_with_tenancy_and_lifecycle(s3: LocalS3, tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "database": tmp_path / "k.sqlite",
            "media_dir": tmp_path / "media",
            "admin_token": ADMIN,
            "template_key": TEMPLATE_KEY,
            "media": s3.media_section("s3://app-media/kz"),
        }
    )
    data = _jpeg()
    sha = hashlib.sha256(data).hexdigest()
    admin = {"Authorization": f"Bearer {ADMIN}"}
    with TestClient(create_app(settings)) as client:
        keys = {}
        for camera, kind, site in (("door-1", "school", "s1"), ("cam-9", "traffic", "d1")):
            answer = client.post(
                "/api/v1/devices", json={"camera_id": camera, "kind": kind, "site": site}, headers=admin
            )
            keys[camera] = {"X-API-Key": answer.json()["api_key"]}
        put = client.put(f"/api/v1/media/{sha}", content=data, headers={**keys["door-1"], "Content-Type": "image/jpeg"})
        assert put.status_code == 201, put.text
        again = client.put(
            f"/api/v1/media/{sha}", content=data, headers={**keys["door-1"], "Content-Type": "image/jpeg"}
        )
        assert again.status_code == 200
        got = client.get(f"/api/v1/media/{sha}", headers=admin)
        assert got.status_code == 200 and got.content == data
    raw = s3.client().get_object(Bucket="app-media", Key=f"kz/sha256/{sha}")["Body"].read()
    assert raw.startswith(MAGIC) and data not in raw  # sealed at rest: nothing in the bucket reads as the JPEG
    tags = s3.client().get_object_tagging(Bucket="app-media", Key=f"kz/sha256/{sha}")["TagSet"]
    assert tags == [{"Key": "retention", "Value": "school"}]
    rules = s3.client().get_bucket_lifecycle_configuration(Bucket="app-media")["Rules"]
    assert rules[0]["Expiration"] == {"Days": settings.school.snapshot_retention_days + 1}
    assert rules[0]["Filter"]["And"]["Tags"] == [{"Key": "retention", "Value": "school"}]
    assert not any(p.is_file() for p in (tmp_path / "media").rglob("*"))  # nothing went to the filesystem


@pytest.mark.parametrize(
    ("section", "needle"),
    [
        ({"store": "s3://Bad_Bucket/x"}, "s3://bucket/prefix"),
        ({"store": "file:///tmp/x"}, "s3://bucket/prefix"),
        ({"store": "s3://ok-bucket", "access_key_id": "abc"}, "both access_key_id"),
        ({"store": "s3://ok-bucket", "endpoint_url": "ftp://x"}, "pattern"),
    ],
)
def test_wrong_store_settings_name_the_field(section: dict[str, str], needle: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate({"admin_token": ADMIN, "template_key": TEMPLATE_KEY, "media": section})
    assert needle in str(caught.value) and "media" in str(caught.value)


def test_secret_key_is_not_in_the_settings_text() -> None:
    section = {"store": "s3://ok-bucket/p", "access_key_id": "AKIAEXAMPLE", "secret_access_key": "very-secret-42"}
    settings = Settings.model_validate({"admin_token": ADMIN, "template_key": TEMPLATE_KEY, "media": section})
    assert "very-secret-42" not in repr(settings) and "very-secret-42" not in str(settings.model_dump())
