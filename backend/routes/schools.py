"""Schools, their user accounts, door cameras and the audit log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from backend import security
from backend.db import transaction
from backend.deps import AdminOf, BootstrapOf, DbDep, MemberOf, PlatformAdmin, StaffOf
from backend.services import records
from backend.services.auth import audit, hash_password
from backend.services.errors import BadInputError, ConflictError, ForbiddenError
from backend.store import audit as audit_store
from backend.store import devices, users
from backend.store.devices import NewKey
from backend.store.users import NewAccount
from backend.text import Name
from kuzet.contracts import CameraId
from notifications.templates import Language

router = APIRouter(prefix="/api/v1/schools", tags=["schools"])
SchoolId = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="School id")


class SchoolCreate(BaseModel):
    """A school to create (platform admin)."""

    model_config = ConfigDict(extra="forbid")

    school_id: str = SchoolId
    name: Name = Field(min_length=1, max_length=200, description="Name for people")


class SchoolPublic(BaseModel):
    """A school."""

    school_id: str = Field(description="School id (= the site of its door cameras)")
    name: str = Field(description="Name")


class UserCreate(BaseModel):
    """An account in a school; a guardian account names its guardian (family)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$", description="Login name")
    password: str = Field(min_length=10, max_length=200, description="Password (10+ characters)")
    role: Literal["school_admin", "staff", "guardian"] = Field(description="Role")
    guardian_id: str | None = Field(default=None, max_length=64, description="Family of a guardian account")
    email: str | None = Field(default=None, max_length=200, description="Where staff alerts go (staff/admins)")
    language: Language = Field(default="ru", description="Language of alerts")


class UserPublic(BaseModel):
    """An account (never the password hash)."""

    user_id: str = Field(description="User id")
    username: str = Field(description="Login name")
    role: str = Field(description="Role")
    guardian_id: str | None = Field(description="Family of a guardian account")


class CameraPublic(BaseModel):
    """A door camera of the school."""

    camera_id: str = Field(description="Camera id")
    description: str = Field(description="Where it hangs")
    last_seen_at: str | None = Field(description="Last upload")
    revoked: bool = Field(description="Key revoked")


class CameraCreate(BaseModel):
    """A door camera to register at this school."""

    model_config = ConfigDict(extra="forbid")

    camera_id: CameraId
    description: str = Field(default="", max_length=200, description="Which door, for people")


class CameraKey(CameraPublic):
    """Registration reply: the only time the key is shown."""

    api_key: str = Field(description="Put this in the door device's uplink.api_key; it is not shown again")


class AuditPublic(BaseModel):
    """One audit record."""

    at: str = Field(description="When (UTC)")
    actor: str = Field(description="User id")
    role: str = Field(description="Role of the actor")
    action: str = Field(description="What was done")
    subject: str = Field(description="Whose data")


@router.post("", status_code=201, response_model=SchoolPublic)
def create_school(body: SchoolCreate, db: DbDep, _: PlatformAdmin) -> SchoolPublic:
    """Create a school (its id is the ``site`` its door cameras are registered with)."""
    with transaction(db) as conn:
        records.create_school(conn, body.school_id, body.name)
    return SchoolPublic(school_id=body.school_id, name=body.name)


@router.get("/{school_id}", response_model=SchoolPublic)
def get_school(school_id: str, db: DbDep, _: MemberOf) -> SchoolPublic:
    """The caller's school."""
    return SchoolPublic(school_id=school_id, name=records.school_name(db.conn, school_id))


@router.post("/{school_id}/users", status_code=201, response_model=UserPublic)
def create_user(school_id: str, body: UserCreate, db: DbDep, who: BootstrapOf) -> UserPublic:
    """Create an account: the platform admin makes school admins, a school admin makes staff and guardians."""
    if who.role == "platform_admin" and body.role != "school_admin":
        raise ForbiddenError("Not allowed", "the platform admin creates school admins only; they create the rest")
    if (body.role == "guardian") != (body.guardian_id is not None):
        raise BadInputError("Guardian account", "a guardian account needs guardian_id; other roles must not have one")
    user_id = uuid.uuid4().hex[:12]
    account = NewAccount(
        user_id=user_id,
        username=body.username,
        password_hash=hash_password(body.password),
        role=body.role,
        school_id=school_id,
        guardian_id=body.guardian_id,
        email=body.email,
        language=body.language,
        created_at=datetime.now(UTC).isoformat(),
    )
    with transaction(db) as conn:
        records.create_account(conn, account)
        audit(conn, who, school_id, "create_user", f"user:{user_id}:{body.role}")
    return UserPublic(user_id=user_id, username=body.username, role=body.role, guardian_id=body.guardian_id)


@router.get("/{school_id}/users", response_model=list[UserPublic])
def list_users(school_id: str, db: DbDep, who: AdminOf) -> list[UserPublic]:
    """Accounts of the school (audited)."""
    audit(db.conn, who, school_id, "view_users", "users")
    return [
        UserPublic(
            user_id=a.user_id,
            username=a.username,
            role=a.role,
            guardian_id=None if a.guardian_id is None else records.public_id(a.guardian_id),
        )
        for a in users.of_school(db.conn, school_id)
    ]


@router.delete("/{school_id}/users/{user_id}", status_code=204)
def delete_user(school_id: str, user_id: str, db: DbDep, who: AdminOf) -> Response:
    """Delete an account of this school (its sessions end at once); an admin cannot delete themself."""
    if user_id == who.user_id:
        raise ConflictError("Own account", "ask another school admin to delete your account")
    with transaction(db) as conn:
        records.delete_account(conn, school_id, user_id)
        audit(conn, who, school_id, "delete_user", f"user:{user_id}")
    return Response(status_code=204)


@router.get("/{school_id}/cameras", response_model=list[CameraPublic])
def list_cameras(school_id: str, db: DbDep, _: StaffOf) -> list[CameraPublic]:
    """Door cameras registered with ``site`` = this school (registration itself is the platform admin's)."""
    return [
        CameraPublic(camera_id=d.camera_id, description=d.description, last_seen_at=d.last_seen_at,
                     revoked=d.revoked_at is not None)
        for d in devices.of_site(db.conn, "school", school_id)
    ]  # fmt: skip


@router.post("/{school_id}/cameras", status_code=201, response_model=CameraKey)
def register_camera(school_id: str, body: CameraCreate, db: DbDep, who: AdminOf) -> CameraKey:
    """Register a door camera of this school (kind school, site = this school) and return its key once.

    A camera id is the device's identity on every upload, so it is unique on the platform: when another site has
    the id, this camera gets ``<id>.<school>`` (the reply says which id to configure on the device).
    """
    key = security.issue_key()
    with transaction(db) as conn:
        camera_id = records.new_camera_id(conn, school_id, body.camera_id)
        at = datetime.now(UTC).isoformat()
        if not devices.insert(
            conn, NewKey(camera_id, "school", school_id, body.description, key.key_id, key.key_hash, at)
        ):
            raise ConflictError("Camera exists", f"camera {body.camera_id!r} exists in this school")
        audit(conn, who, school_id, "register_camera", f"camera:{camera_id}")
    return CameraKey(
        camera_id=camera_id, description=body.description, last_seen_at=None, revoked=False, api_key=key.plaintext
    )


@router.get("/{school_id}/audit", response_model=list[AuditPublic])
def audit_log(school_id: str, db: DbDep, who: AdminOf, limit: int = 200) -> list[AuditPublic]:
    """Who viewed, exported or changed whose data, newest first."""
    rows = audit_store.recent(db.conn, school_id, max(1, min(limit, 5000)))
    audit(db.conn, who, school_id, "view_audit", "audit_log")
    return [AuditPublic.model_validate(r, from_attributes=True) for r in rows]
