"""Attachments by SHA-256: size-limited, hash-checked, images verified before anything is stored."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from PIL import Image, UnidentifiedImageError

from backend.db import transaction
from backend.deps import AdminDep, DbDep, DeviceDep, SettingsDep
from backend.errors import Problem
from backend.services.errors import NotFoundError
from backend.store import media as media_store
from backend.store.media import MediaRow, media_path

router = APIRouter(prefix="/api/v1/media", tags=["media"])

ALLOWED_TYPES = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "application/json": None,
    "application/octet-stream": None,
}
ShaPath = Annotated[str, PathParam(pattern=r"^[0-9a-f]{64}$", description="Lower-case hex SHA-256 of the bytes")]


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


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


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
    if media_store.media_type(db.conn, sha256) is not None:
        response.status_code = 200
        return {"sha256": sha256, "size_bytes": len(data)}
    _write_atomic(media_path(settings.media_dir, sha256), data)
    with transaction(db) as conn:
        media_store.insert(
            conn, MediaRow(sha256, media_type, len(data), device.camera_id, datetime.now(UTC).isoformat())
        )
    return {"sha256": sha256, "size_bytes": len(data)}


@router.get("/{sha256}")
def download(sha256: ShaPath, db: DbDep, settings: SettingsDep, _: AdminDep) -> FileResponse:
    """Fetch an attachment (admin only here; product pages serve media through their own role checks)."""
    stored_type = media_store.media_type(db.conn, sha256)
    if stored_type is None:
        raise NotFoundError("Unknown attachment", f"no attachment {sha256} is stored")
    return FileResponse(media_path(settings.media_dir, sha256), media_type=stored_type)
