"""Camera registration: issue an API key (shown once, stored hashed), revoke it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from backend import security
from backend.db import transaction
from backend.deps import AdminDep, DbDep
from backend.errors import Problem
from kuzet.contracts import CameraId

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


class DeviceCreate(BaseModel):
    """A camera to register."""

    model_config = ConfigDict(extra="forbid")

    camera_id: CameraId
    kind: Literal["school", "traffic"] = Field(description="Product the camera serves")
    site: str = Field(min_length=1, max_length=64, description="School id or traffic district the camera is in")
    description: str = Field(default="", max_length=200, description="Where it hangs, for people")
    rotate: bool = Field(default=False, description="Re-issue the key of an existing camera")


class DevicePublic(BaseModel):
    """A registered camera."""

    camera_id: str
    kind: str
    site: str
    description: str
    created_at: str
    revoked_at: str | None
    last_seen_at: str | None


class DeviceKey(DevicePublic):
    """Registration reply: the only time the plaintext key is shown."""

    api_key: str = Field(description="Put this in the device config's uplink.api_key; it is not shown again")


def _public(db: DbDep, camera_id: str) -> DevicePublic:
    row = db.execute(
        "SELECT camera_id, kind, site, description, created_at, revoked_at, last_seen_at FROM devices"
        " WHERE camera_id = ?",
        (camera_id,),
    ).fetchone()
    if row is None:
        raise Problem(404, "Unknown camera", f"no camera {camera_id!r} is registered")
    return DevicePublic(**dict(zip(DevicePublic.model_fields, row, strict=True)))


@router.post("", status_code=201, response_model=DeviceKey)
def register(body: DeviceCreate, db: DbDep, _: AdminDep) -> DeviceKey:
    """Register a camera (or rotate its key) and return its new API key."""
    key = security.issue_key()
    now = datetime.now(UTC).isoformat()
    with transaction(db) as conn:
        exists = conn.execute("SELECT 1 FROM devices WHERE camera_id = ?", (body.camera_id,)).fetchone()
        if exists and not body.rotate:
            raise Problem(409, "Camera exists", f"{body.camera_id!r} is registered; send rotate=true for a new key")
        try:
            conn.execute(
                "INSERT INTO devices(camera_id, kind, site, description, key_id, key_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(camera_id) DO UPDATE SET kind=excluded.kind,"
                " site=excluded.site, description=excluded.description, key_id=excluded.key_id,"
                " key_hash=excluded.key_hash, revoked_at=NULL",
                (body.camera_id, body.kind, body.site, body.description, key.key_id, key.key_hash, now),
            )
        except sqlite3.IntegrityError as exc:
            raise Problem(409, "Key collision", "a key id collided; retry the request") from exc
    return DeviceKey(**_public(db, body.camera_id).model_dump(), api_key=key.plaintext)


@router.post("/{camera_id}/revoke", response_model=DevicePublic)
def revoke(camera_id: str, db: DbDep, _: AdminDep) -> DevicePublic:
    """Revoke a camera's key; its uploads get 401 until a new key is issued."""
    _public(db, camera_id)
    with transaction(db) as conn:
        conn.execute(
            "UPDATE devices SET revoked_at = ? WHERE camera_id = ? AND revoked_at IS NULL",
            (datetime.now(UTC).isoformat(), camera_id),
        )
    return _public(db, camera_id)


@router.get("", response_model=list[DevicePublic])
def list_devices(db: DbDep, _: AdminDep) -> list[DevicePublic]:
    """Every registered camera."""
    rows = db.execute("SELECT camera_id FROM devices ORDER BY camera_id").fetchall()
    return [_public(db, r[0]) for r in rows]
