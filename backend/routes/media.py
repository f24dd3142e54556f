"""Attachments by SHA-256: size-limited, hash-checked, images verified before anything is stored."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi import Path as PathParam
from PIL import Image, UnidentifiedImageError

from backend.db import transaction
from backend.deps import AdminDep, DbDep, DeviceDep, SettingsDep
from backend.errors import Problem
from backend.services.errors import NotFoundError
from backend.services.media import MediaVault
from backend.store import media as media_store
from backend.store.media import MediaRow

router = APIRouter(prefix="/api/v1/media", tags=["media"])

ALLOWED_TYPES = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "application/json": None,
    "application/octet-stream": None,
}
BYTES_SCHEMA = {"type": "string", "format": "binary"}
MEDIA_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The attachment's bytes, as stored",
        "content": {media_type: {"schema": BYTES_SCHEMA} for media_type in ALLOWED_TYPES},
    }
}
JPEG_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "A JPEG image", "content": {"image/jpeg": {"schema": BYTES_SCHEMA}}}
}
ShaPath = Annotated[str, PathParam(pattern=r"^[0-9a-f]{64}$", description="Lower-case hex SHA-256 of the bytes")]


def media_response(data: bytes, media_type: str) -> Response:
    """Decrypted attachment bytes as a reply that no cache keeps (children's faces, evidence)."""
    return Response(content=data, media_type=media_type, headers={"Cache-Control": "no-store"})


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Problem(413, "Attachment too large", f"{declared} bytes is over the {limit}-byte limit; send less")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem(413, "Attachment too large", f"more than {limit} bytes; the limit is {limit}")
        chunks.append(chunk)
    return b"".join(chunks)


def _check_image(data: bytes, media_type: str) -> None:
    expected = ALLOWED_TYPES[media_type]
    if expected is None:
        return
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            actual = image.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise Problem(422, "Corrupt image", f"the bytes are not a readable {expected} image ({exc})") from exc
    if actual != expected:
        raise Problem(422, "Wrong image type", f"Content-Type says {media_type} but the bytes are {actual}")


@router.put("/{sha256}", status_code=201)
async def upload(
    sha256: ShaPath,
    request: Request,
    response: Response,
    db: DbDep,
    device: DeviceDep,
    settings: SettingsDep,
    content_type: Annotated[str, Header()] = "application/octet-stream",
) -> dict[str, str | int]:
    """Store an attachment; re-sending stored bytes is a no-op (200)."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in ALLOWED_TYPES:
        raise Problem(415, "Unsupported media type", f"{media_type!r} is not one of {sorted(ALLOWED_TYPES)}")
    data = await _read_limited(request, settings.max_upload_bytes)
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise Problem(422, "Hash mismatch", f"the body hashes to {actual}, not {sha256}; the upload was damaged")
    _check_image(data, media_type)
    now = datetime.now(UTC).isoformat()
    if media_store.media_type(db.conn, sha256) is not None:
        with transaction(db) as conn:  # this camera's tenant may now cite the bytes too
            media_store.record_upload(conn, sha256, device.camera_id, now)
        response.status_code = 200
        return {"sha256": sha256, "size_bytes": len(data)}
    MediaVault.of(settings).write(sha256, data, tenant_kind=device.kind)  # the tag the lifecycle rule reads
    with transaction(db) as conn:
        media_store.insert(conn, MediaRow(sha256, media_type, len(data), device.camera_id, now))
    return {"sha256": sha256, "size_bytes": len(data)}


@router.get("/{sha256}", response_class=Response, responses=MEDIA_RESPONSES)
def download(sha256: ShaPath, db: DbDep, settings: SettingsDep, _: AdminDep) -> Response:
    """Fetch an attachment, decrypted (admin only here; product pages serve media through their own checks)."""
    stored_type = media_store.media_type(db.conn, sha256)
    data = None if stored_type is None else MediaVault.of(settings).read(sha256)
    if stored_type is None or data is None:
        raise NotFoundError("Unknown attachment", f"no attachment {sha256} is stored")
    return media_response(data, stored_type)
