"""The parents' API: a guardian sees only their own children (entries and exits), withdraws consent to face
identification in one call, sets where messages go, and exports everything held about a child (JSON or CSV)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from backend.db import transaction
from backend.deps import DbDep, GuardianDep, SettingsDep
from backend.services import family
from backend.services.attendance import local
from backend.services.auth import audit
from backend.services.records import public_id, pupil_of_guardian
from backend.store import attendance, schools
from backend.text import Address

router = APIRouter(prefix="/api/v1/parents", tags=["parents"])


class Child(BaseModel):
    """A child of the guardian."""

    pupil_id: str = Field(description="Pupil")
    name: str = Field(description="Name")


class PassLine(BaseModel):
    """One entry or exit."""

    day: str = Field(description="Local date")
    time: str = Field(description="Local HH:MM")
    direction: str = Field(description="entered or left")


@router.get("/children", response_model=list[Child])
def children(db: DbDep, who: GuardianDep) -> list[Child]:
    """The guardian's children."""
    if who.guardian_id is None:
        return []
    kids = [Child(pupil_id=public_id(c.pupil_id), name=c.name) for c in schools.children(db.conn, who.guardian_id)]
    audit(db.conn, who, who.school_id, "view_children", f"guardian:{who.guardian_id}")
    return kids


@router.get("/children/{pupil_id}/passes", response_model=list[PassLine])
def passes(
    pupil_id: str,
    db: DbDep,
    settings: SettingsDep,
    who: GuardianDep,
    days: Annotated[int, Query(ge=1, le=92, description="How many recent days")] = 14,
) -> list[PassLine]:
    """Entries and exits of one of the guardian's children (one line per pass, lingering folded)."""
    assert who.guardian_id is not None
    child = pupil_of_guardian(db.conn, who.guardian_id, pupil_id)
    school_id = child.school_id
    zone = ZoneInfo(settings.school.timezone)
    since = (datetime.now(UTC).date() - timedelta(days=days)).isoformat()
    rows = attendance.recent_passes(db.conn, child.pupil_id, since)
    audit(db.conn, who, school_id, "view_child_passes", f"pupil:{pupil_id}")
    return [PassLine(day=r[0], time=local(r[1], zone).strftime("%H:%M"), direction=r[2]) for r in rows]


class Withdrawn(BaseModel):
    """What a withdrawal did."""

    pupil_id: str = Field(description="Child")
    consent: bool = Field(description="Consent now on record (always false)")
    templates_removed: int = Field(description="Face templates deleted now; doors drop them at their next sync")


@router.post("/children/{pupil_id}/consent/withdraw", response_model=Withdrawn)
def withdraw_consent(pupil_id: str, db: DbDep, who: GuardianDep) -> Withdrawn:
    """Withdraw consent to biometric identification: templates deleted at once, the door gallery drops them."""
    with transaction(db) as conn:
        removed = family.withdraw_consent(conn, who, pupil_id)
    return Withdrawn(pupil_id=pupil_id, consent=False, templates_removed=removed)


class Preferences(BaseModel):
    """Where and in which language the family's messages go."""

    model_config = ConfigDict(extra="forbid")

    language: Literal["kk", "ru", "en"] = Field(description="Language of messages and pages")
    channel: Literal["email", "telegram", "sms"] = Field(description="Channel")
    address: Address = Field(min_length=1, max_length=200, description="E-mail, Telegram chat id or phone number")


@router.put("/preferences", response_model=Preferences)
def set_preferences(body: Preferences, db: DbDep, who: GuardianDep) -> Preferences:
    """Set the family's channel, address and language (audited)."""
    with transaction(db) as conn:
        family.set_preferences(conn, who, body.language, body.channel, body.address)
    return body


@router.get("/children/{pupil_id}/export.json")
def export_json(pupil_id: str, db: DbDep, who: GuardianDep) -> Response:
    """Everything held about the child as a vendor-neutral JSON document (audited)."""
    document = family.export_child(db.conn, who, pupil_id)
    return Response(
        json.dumps(document, ensure_ascii=False, indent=1),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="child-{pupil_id}.json"', "Cache-Control": "no-store"},
    )


@router.get(
    "/children/{pupil_id}/export.csv",
    response_class=Response,
    responses={200: {"description": "The CSV file", "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def export_csv(pupil_id: str, db: DbDep, who: GuardianDep) -> Response:
    """The child's days and passes as CSV (audited)."""
    text = family.export_csv(family.export_child(db.conn, who, pupil_id))
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="child-{pupil_id}.csv"', "Cache-Control": "no-store"},
    )
