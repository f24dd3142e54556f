"""Every malformed request gets its status and a message a person can act on, and nothing is half-written."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from PIL import Image

from backend.db import connect
from tests.backend.conftest import Api
from tests.support.events import entry


def _jpeg(size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def _event_json(**fields: Any) -> dict[str, Any]:
    return json.loads(entry(**fields).model_dump_json())  # type: ignore[no-any-return]


def _put(api: Api, data: bytes, content_type: str = "image/jpeg", sha: str | None = None) -> httpx.Response:
    sha = sha or hashlib.sha256(data).hexdigest()
    return api.client.put(f"/api/v1/media/{sha}", content=data, headers={**api.device, "Content-Type": content_type})


def _post(api: Api, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return api.client.post("/api/v1/events", json=body, headers=api.device if headers is None else headers)


def _missing_attachment(api: Api) -> httpx.Response:
    ghost = {"sha256": "ab" * 32, "media_type": "image/jpeg", "role": "snapshot", "size_bytes": 10}
    good = _event_json(n=1)
    return _post(api, {"events": [good, _event_json(attachments=[ghost])]})


def _violation(**fields: Any) -> dict[str, Any]:
    base = _event_json(n=1)
    keep = ("event_id", "camera_id", "captured_at", "clock_source", "schema_version", "attachments")
    return {**{k: base[k] for k in keep}, "kind": "violation", "violation": "red_light", "track_id": 3,
            "vehicle_class": "car", **fields}  # fmt: skip


def _vehicle(**fields: Any) -> dict[str, Any]:
    base = _event_json(n=1)
    keep = ("event_id", "camera_id", "captured_at", "clock_source", "schema_version", "attachments")
    return {**{k: base[k] for k in keep}, "kind": "vehicle", "track_id": 3, "vehicle_class": "car",
            "first_seen": base["captured_at"], "last_seen": base["captured_at"], **fields}  # fmt: skip


def _raw(api: Api, text: str) -> httpx.Response:
    return api.client.post(
        "/api/v1/events", content=text.encode(), headers={**api.device, "Content-Type": "application/json"}
    )


def _png_bomb() -> bytes:
    """A real PNG whose header claims 30000x30000 pixels (only the first rows are present)."""
    raw = zlib.compress(b"\x00" * 30001 * 4)
    chunks = [(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)), (b"IDAT", raw), (b"IEND", b"")]
    body = b"".join(
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data)) for kind, data in chunks
    )
    return b"\x89PNG\r\n\x1a\n" + body


def _other_camera(api: Api) -> httpx.Response:
    return _post(api, {"events": [_event_json(n=1), _event_json(camera_id="door-2")]})


@dataclass(frozen=True)
class Case:
    name: str
    call: Callable[[Api], httpx.Response]
    status: int
    says: str  # a fragment of the detail that tells the person what to fix


CASES = [
    Case(
        "not json",
        lambda a: a.client.post(
            "/api/v1/events", content=b"{oops", headers={**a.device, "Content-Type": "application/json"}
        ),
        422,
        "JSON",
    ),
    Case("no events", lambda a: _post(a, {"events": []}), 422, "events"),
    Case(
        "missing field",
        lambda a: _post(a, {"events": [{k: v for k, v in _event_json().items() if k != "camera_id"}]}),
        422,
        "camera_id",
    ),
    Case("bad uuid", lambda a: _post(a, {"events": [{**_event_json(), "event_id": "nope"}]}), 422, "event_id"),
    Case(
        "naive time",
        lambda a: _post(a, {"events": [{**_event_json(), "captured_at": "2026-09-01T08:00:00"}]}),
        422,
        "captured_at",
    ),
    Case("unknown field", lambda a: _post(a, {"events": [{**_event_json(), "colour": "red"}]}), 422, "colour"),
    Case(
        "temperature 0",
        lambda a: _post(a, {"events": [{**_event_json(), "temperature_c": 0}]}),
        422,
        "temperature_c",
    ),
    Case(
        "unknown key",
        lambda a: _post(a, {"events": [_event_json()]}, {"X-API-Key": "kz_0000_nope"}),
        401,
        "not registered",
    ),
    Case("no key", lambda a: _post(a, {"events": [_event_json()]}, {}), 401, "X-API-Key"),
    Case("wrong camera", _other_camera, 403, "door-2"),
    Case("attachment not uploaded", _missing_attachment, 422, "PUT it to /api/v1/media/"),
    Case("oversized upload", lambda a: _put(a, b"\xff" * 60_000), 413, "limit"),
    Case("corrupt image", lambda a: _put(a, b"\xff\xd8\xff\xe0 this is not a jpeg"), 422, "not a readable JPEG"),
    Case("png sent as jpeg", lambda a: _put(a, _png()), 422, "PNG"),
    Case("hash mismatch", lambda a: _put(a, _jpeg(), sha="00" * 32), 422, "hashes to"),
    Case("bad hash in url", lambda a: _put(a, _jpeg(), sha="xyz"), 422, "sha256"),
    Case("unsupported type", lambda a: _put(a, b"hello", content_type="text/plain"), 415, "not one of"),
    Case(
        "admin route without token",
        lambda a: a.client.post("/api/v1/devices", json={"camera_id": "x", "kind": "school", "site": "s"}),
        401,
        "admin_token",
    ),
    Case("png bomb", lambda a: _put(a, _png_bomb(), content_type="image/png"), 413, "pixels"),
    Case("track_id 2**63", lambda a: _post(a, {"events": [_violation(track_id=2**63)]}), 422, "track_id"),
    Case(
        "captured_at 9999 at -14:00",
        lambda a: _post(a, {"events": [{**_event_json(), "captured_at": "9999-12-31T23:59:59-14:00"}]}),
        422,
        "representable range",
    ),
    Case(
        "captured_at 0001 at +01:00",
        lambda a: _post(a, {"events": [{**_event_json(), "captured_at": "0001-01-01T00:00:00+01:00"}]}),
        422,
        "representable range",
    ),
    Case(
        "NaN in path_m",
        lambda a: _raw(a, json.dumps({"events": [_vehicle(path_m=[[0.0, 1.0], [float("nan"), 2.0]])]})),
        422,
        "path_m",
    ),
    Case(
        "Infinity in path_m",
        lambda a: _raw(a, json.dumps({"events": [_vehicle(path_m=[[float("inf"), 1.0]])]})),
        422,
        "path_m",
    ),
    Case(
        "last_seen before first_seen",
        lambda a: _post(a, {"events": [_vehicle(last_seen="2026-09-01T02:49:00Z")]}),
        422,
        "last_seen is before first_seen",
    ),
    Case(
        "bad device kind",
        lambda a: a.client.post(
            "/api/v1/devices", json={"camera_id": "x", "kind": "drone", "site": "s"}, headers=a.admin
        ),
        422,
        "kind",
    ),
]


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG")
    return buffer.getvalue()


def _stored(api: Api) -> tuple[int, int, int, int]:
    db = connect(api.settings.database)
    try:
        counts = [db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("events", "media", "devices")]
    finally:
        db.conn.close()
    files = sum(1 for p in api.settings.media_dir.rglob("*") if p.is_file())
    return counts[0], counts[1], counts[2], files


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(api: Api, case: Case) -> None:
    before = _stored(api)
    response = case.call(api)
    assert response.status_code == case.status, response.text
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert body["status"] == case.status and body["title"]
    assert case.says in body["detail"] or case.says in json.dumps(body.get("errors", "")), body
    assert _stored(api) == before, "a refused request must not write anything"
