"""Camera registration: issue an API key (shown once, stored hashed), revoke it; register a traffic camera's
evidence signing key (no trust on first use) and read or check its anchored evidence chain head."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from backend import security
from backend.db import transaction
from backend.deps import AdminDep, DbDep, DeviceDep
from backend.services import evidence
from backend.services.errors import ConflictError, NotFoundError
from backend.store import devices
from backend.store.devices import DeviceRow, NewKey
from kuzet.contracts import CameraId

EvidenceKey = Annotated[
    str, Field(min_length=64, max_length=64, pattern=r"^[0-9a-fA-F]{64}$", description="Ed25519 key, 64 hex")
]

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


class DeviceCreate(BaseModel):
    """A camera to register."""

    model_config = ConfigDict(extra="forbid")

    camera_id: CameraId
    kind: Literal["school", "traffic"] = Field(description="Product the camera serves")
    site: str = Field(min_length=1, max_length=64, description="School id or traffic district the camera is in")
    description: str = Field(default="", max_length=200, description="Where it hangs, for people")
    rotate: bool = Field(default=False, description="Re-issue the key of an existing camera")
    evidence_public_key: EvidenceKey | None = Field(
        default=None, description="Traffic cameras: the Ed25519 evidence key (hex, the device's .ed25519.pub)"
    )


class DevicePublic(BaseModel):
    """A registered camera."""

    camera_id: str
    kind: str
    site: str
    description: str
    created_at: str
    revoked_at: str | None
    last_seen_at: str | None
    evidence_public_key: str | None = Field(default=None, description="Registered evidence signing key (hex)")


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
        if body.evidence_public_key is not None:
            devices.set_evidence_key(conn, body.camera_id, body.evidence_public_key.lower())
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


class EvidenceKeyBody(BaseModel):
    """A camera's evidence signing key to register (None clears it: its packages stop verifying)."""

    model_config = ConfigDict(extra="forbid")

    public_key: EvidenceKey | None = Field(description="Ed25519 public key, 64 hex (the device's .ed25519.pub)")


class ReportedHead(BaseModel):
    """A camera's own chain ``HEAD``."""

    model_config = ConfigDict(extra="forbid")

    seq: int = Field(ge=0, le=2**53, description="Sequence number of the newest package")
    manifest_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of its manifest")


@router.put("/{camera_id}/evidence-key", response_model=DevicePublic)
def register_evidence_key(camera_id: str, body: EvidenceKeyBody, db: DbDep, _: AdminDep) -> DevicePublic:
    """Register or replace (camera replaced) a camera's evidence signing key (platform admin token only)."""
    _public(db, camera_id)
    with transaction(db) as conn:
        devices.set_evidence_key(conn, camera_id, None if body.public_key is None else body.public_key.lower())
    return _public(db, camera_id)


@router.get("/{camera_id}/evidence")
def evidence_chain(camera_id: str, db: DbDep, _: AdminDep) -> dict[str, Any]:
    """The camera's registered evidence key, anchored chain head (``kuzet evidence verify --anchor SEQ:SHA``) and
    recorded chain conflicts (rollback, fork, gap)."""
    return evidence.chain_state(db.conn, camera_id)


@router.post("/evidence-head")
def report_evidence_head(body: ReportedHead, device: DeviceDep, db: DbDep) -> dict[str, Any]:
    """A camera checks its chain ``HEAD`` against the anchored one: 409 when it is behind it or names another
    package at the same sequence (the chain was truncated or rewritten; recorded as a conflict)."""
    now = datetime.now(UTC).isoformat()
    with transaction(db) as conn:
        head, problem = evidence.report_head(conn, device.camera_id, body.seq, body.manifest_sha256, now)
    if problem is not None:
        raise evidence.refuse_head(head, problem)
    return {"anchored_seq": None if head is None else head.seq, "ok": True}
