"""Operator API: accounts (created by the platform admin), login, the district's violation queue and decisions.

Every route is scoped to the operator's district: a violation of another district answers 404 as if it did not
exist. Viewing, confirming, rejecting and correcting the plate are each recorded in the audit trail. Posting
decisions needs a JSON body, so a cross-site form cannot submit them with the cookie. Confirming is refused with
409 and the reasons (``reasons``) unless the evidence verifies and a valid plate is present; the officer signs
the hand-off (``backend.services.handoff``).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from backend.db import transaction
from backend.deps import AdminDep, ClientDep, DbDep, OperatorDep, SettingsDep
from backend.routes.auth import Credentials, set_session_cookie
from backend.routes.media import MEDIA_RESPONSES, ShaPath, media_response
from backend.services import evidence
from backend.services import operators as ops
from backend.services import violations as vio
from backend.services.auth import SESSION_COOKIE, login, logout
from backend.services.handoff import handoff_bytes
from backend.services.media import MediaVault
from backend.services.records import found
from backend.store.violations import ViolationRecord
from notifications.templates import Language

router = APIRouter(tags=["violations"])


class OperatorCreate(BaseModel):
    """A new operator account."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=64, description="Login name")
    password: str = Field(min_length=ops.MIN_PASSWORD, max_length=200, description="Password (10+ characters)")
    district: str = Field(min_length=1, max_length=64, description="Traffic district (the cameras' site)")
    email: str | None = Field(
        default=None, max_length=200, description="Where camera-health alerts of the district's cameras go"
    )
    language: Language = Field(default="ru", description="Language of those alerts")
    public_key: str | None = Field(
        default=None,
        min_length=64,
        max_length=64,
        pattern=r"^[0-9a-fA-F]{64}$",
        description="Ed25519 public key (hex) whose private half the operator's client holds; omitted: the server"
        " generates the operator's key and keeps it sealed",
    )


class OperatorPublic(BaseModel):
    """An operator; ``token`` only in the login reply."""

    operator_id: str = Field(description="Operator id")
    username: str = Field(description="Login name")
    district: str = Field(description="District whose cameras the operator reviews")
    token: str | None = Field(default=None, description="Session token: 'Authorization: Bearer <token>'")


class OperatorCreated(OperatorPublic):
    """A new operator with their signing key."""

    public_key: str | None = Field(default=None, description="The operator's Ed25519 signing key (hex)")
    key_custody: str | None = Field(default=None, description="client (operator holds it) or sealed (server)")


class ConfirmBody(BaseModel):
    """Confirmation of a violation."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=500, description="Optional note for the audit trail")
    plate: str | None = Field(
        default=None, min_length=4, max_length=20, description="The plate as the operator reads it (corrects the read)"
    )
    signature: str | None = Field(
        default=None,
        min_length=128,
        max_length=128,
        pattern=r"^[0-9a-f]{128}$",
        description="Operators holding their own key: hex Ed25519 signature of the bytes GET .../handoff returned",
    )
    signed_at: str | None = Field(
        default=None, max_length=40, description="The signed_at used for those bytes (ISO time, within 10 min)"
    )


class RejectBody(BaseModel):
    """Rejection of a violation."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=500, description="Why the evidence does not show a violation")


class PlateBody(BaseModel):
    """The plate as the operator reads it on the evidence."""

    model_config = ConfigDict(extra="forbid")

    plate: str = Field(min_length=4, max_length=20, description="Plate text, e.g. 123ABC02")


def _public(record: ViolationRecord) -> dict[str, Any]:
    return {**{k: getattr(record, k) for k in record.__dataclass_fields__}, "plate": record.plate}


@router.post("/api/v1/operators", status_code=201, response_model=OperatorCreated)
def create_operator(body: OperatorCreate, db: DbDep, settings: SettingsDep, _: AdminDep) -> OperatorCreated:
    """Create an operator of a district with their signing key (platform admin token only)."""
    with transaction(db) as conn:
        operator = ops.create_operator(
            conn,
            body.username,
            body.password,
            body.district,
            contact=(body.email, body.language),
            key=(body.public_key, settings.template_key_bytes),
        )
        key = ops.signing_key(conn, operator.operator_id) or {}
    return OperatorCreated(
        operator_id=operator.operator_id,
        username=operator.username,
        district=operator.district,
        public_key=key.get("public_key"),
        key_custody=key.get("custody"),
    )


class OperatorName(BaseModel):
    """An operator's login name."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, description="Login name of the operator")


@router.get("/api/v1/operators")
def list_operators(db: DbDep, _: AdminDep) -> list[dict[str, str | None]]:
    """Every operator account with its district (platform admin token only)."""
    return ops.list_operators(db.conn)


class OperatorKeyBody(BaseModel):
    """A new signing key for an operator."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, description="Login name of the operator")
    public_key: str | None = Field(
        default=None,
        min_length=64,
        max_length=64,
        pattern=r"^[0-9a-fA-F]{64}$",
        description="Ed25519 public key (hex) the operator's client holds; omitted: a new sealed server-side key",
    )


@router.post("/api/v1/operators/key")
def issue_operator_key(body: OperatorKeyBody, db: DbDep, settings: SettingsDep, _: AdminDep) -> dict[str, str]:
    """Give an operator a new signing key (platform admin token only); past hand-offs keep theirs."""
    with transaction(db) as conn:
        return ops.issue_key(conn, body.username, body.public_key, settings.template_key_bytes)


@router.post("/api/v1/operators/disable", status_code=204)
def disable_operator(body: OperatorName, db: DbDep, _: AdminDep) -> Response:
    """Disable an operator and end its sessions (platform admin token only)."""
    with transaction(db) as conn:
        ops.disable_operator(conn, body.username)
    return Response(status_code=204)


@router.post("/api/v1/operators/login", response_model=OperatorPublic)
def log_in(
    body: Credentials, db: DbDep, settings: SettingsDep, response: Response, client: ClientDep
) -> OperatorPublic:
    """The one login (``/api/v1/auth/login``) for operators only, in the operator's shape; sets the session cookie."""
    token, who = login(db, (body.username, body.password), settings.school, roles=(ops.ROLE,), client=client)
    set_session_cookie(response, token, settings)
    return OperatorPublic(operator_id=who.user_id, username=who.username, district=who.district or "", token=token)


@router.post("/api/v1/operators/logout", status_code=204)
def log_out(operator: OperatorDep, db: DbDep, response: Response) -> Response:
    """End every session of the operator and clear the cookie."""
    with transaction(db) as conn:
        logout(conn, operator.user_id)
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/api/v1/violations")
def list_queue(
    operator: OperatorDep,
    db: DbDep,
    state: Literal["queued", "confirmed", "rejected", "all"] = "queued",
    limit: int = 200,
) -> list[dict[str, Any]]:
    """The operator's district's violations in one state (default: the queue), oldest first."""
    states = ("queued", "confirmed", "rejected") if state == "all" else (state,)
    return [_public(r) for r in vio.list_violations(db.conn, operator, states, max(1, min(limit, 1000)))]


@router.get("/api/v1/violations/{violation_id}")
def get_one(violation_id: str, operator: OperatorDep, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    """One violation with its evidence files, track overlay, police delivery and audit trail (audited: view)."""
    with transaction(db) as conn:
        record = vio.get_violation(conn, operator, violation_id)
        vio.audit(conn, operator, "view", violation_id)
    files = vio.evidence_files(db.conn, violation_id)
    vault = MediaVault.of(settings)
    return {
        **_public(record),
        "files": [{"role": f.role, "sha256": f.sha256, "media_type": f.media_type} for f in files],
        "overlay": vio.track_overlay(vault, files),
        "review": evidence.review_view(vault, record, files),
        "handoff": vio.handoff_of(db.conn, violation_id),
        "delivery": vio.delivery(db.conn, violation_id),
        "audit": vio.audit_trail(db.conn, violation_id),
    }


@router.get("/api/v1/violations/{violation_id}/handoff")
def handoff_draft(
    violation_id: str, operator: OperatorDep, db: DbDep, settings: SettingsDep, plate: str | None = None
) -> dict[str, Any]:
    """The exact hand-off bytes to sign (operators holding their own key), with its ``signed_at``; refused with
    409 and the reasons when the violation cannot be confirmed. Nothing is written."""
    request = vio.Confirmation(plate=plate)
    _, payload, key = vio.prepare_handoff(db.conn, MediaVault.of(settings), operator, violation_id, request)
    return {"payload": handoff_bytes(payload).decode(), "signed_at": payload["signed_at"], "custody": key.custody}


@router.get("/api/v1/violations/{violation_id}/media/{sha256}", response_class=Response, responses=MEDIA_RESPONSES)
def media(violation_id: str, sha256: ShaPath, operator: OperatorDep, db: DbDep, settings: SettingsDep) -> Response:
    """An evidence file of a violation of the operator's district, uploaded by the district's cameras (else 404)."""
    media_type = vio.evidence_media_type(db.conn, operator, violation_id, sha256)
    data = found(MediaVault.of(settings).read(sha256), "evidence file")
    return media_response(data, media_type)


@router.post("/api/v1/violations/{violation_id}/confirm")
def confirm(
    violation_id: str, body: ConfirmBody, operator: OperatorDep, db: DbDep, settings: SettingsDep
) -> dict[str, Any]:
    """Confirm: the officer signs the hand-off and it goes to the police through the outbox (one webhook,
    tracked). 409 with ``reasons`` when the evidence does not verify or no valid plate is present."""
    request = vio.Confirmation(body.note, body.plate, body.signature, body.signed_at)
    with transaction(db) as conn:
        record = vio.confirm(
            conn, MediaVault.of(settings), settings.template_key_bytes, operator, violation_id, request
        )
    return {**_public(record), "delivery": vio.delivery(db.conn, violation_id)}


@router.post("/api/v1/violations/{violation_id}/reject")
def reject(violation_id: str, body: RejectBody, operator: OperatorDep, db: DbDep) -> dict[str, Any]:
    """Reject with a reason; nothing is sent to the police."""
    with transaction(db) as conn:
        record = vio.reject(conn, operator, violation_id, body.reason.strip())
    return _public(record)


@router.post("/api/v1/violations/{violation_id}/plate")
def correct_plate(violation_id: str, body: PlateBody, operator: OperatorDep, db: DbDep) -> dict[str, Any]:
    """Correct the plate of a queued violation; the camera's original read is kept."""
    with transaction(db) as conn:
        record = vio.correct_plate(conn, operator, violation_id, body.plate)
    return _public(record)


@router.get("/api/v1/violations/{violation_id}/audit")
def audit(violation_id: str, operator: OperatorDep, db: DbDep) -> list[dict[str, str]]:
    """Who did what to this violation, and when."""
    vio.get_violation(db.conn, operator, violation_id)
    return vio.audit_trail(db.conn, violation_id)
