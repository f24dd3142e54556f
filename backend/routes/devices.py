"""Camera registration: issue an API key (shown once, stored hashed), revoke it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from backend import security
from backend.db import transaction
from backend.deps import AdminDep, DbDep
from backend.services.errors import ConflictError, NotFoundError
from backend.store import devices
from backend.store.devices import DeviceRow, NewKey
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
    row = devices.get(db.conn, camera_id)
    if row is None:
        raise NotFoundError("Unknown camera", f"no camera {camera_id!r} is registered")
    return _as_public(row)


def _as_public(row: DeviceRow) -> DevicePublic:
    return DevicePublic(**asdict(row))


@router.post("", status_code=201, response_model=DeviceKey)
def register(body: DeviceCreate, db: DbDep, _: AdminDep) -> DeviceKey:
    """Register a camera (or rotate its key) and return its new API key."""
    key = security.issue_key()
    now = datetime.now(UTC).isoformat()
    new = NewKey(body.camera_id, body.kind, body.site, body.description, key.key_id, key.key_hash, now)
    with transaction(db) as conn:
        if devices.get(conn, body.camera_id) is not None and not body.rotate:
            raise ConflictError("Camera exists", f"{body.camera_id!r} is registered; send rotate=true for a new key")
        if not devices.upsert_key(conn, new):
            raise ConflictError("Key collision", "a key id collided; retry the request")
    return DeviceKey(**_public(db, body.camera_id).model_dump(), api_key=key.plaintext)


@router.post("/{camera_id}/revoke", response_model=DevicePublic)
def revoke(camera_id: str, db: DbDep, _: AdminDep) -> DevicePublic:
    """Revoke a camera's key; its uploads get 401 until a new key is issued."""
    _public(db, camera_id)
    with transaction(db) as conn:
        devices.revoke(conn, camera_id, datetime.now(UTC).isoformat())
    return _public(db, camera_id)


@router.get("", response_model=list[DevicePublic])
def list_devices(db: DbDep, _: AdminDep) -> list[DevicePublic]:
    """Every registered camera."""
    return [_as_public(row) for row in devices.all_devices(db.conn)]
