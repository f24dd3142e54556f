"""The parents' view: a guardian sees only their own children and those children's entries and exits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from backend.deps import DbDep, GuardianDep, SettingsDep
from backend.services.attendance import local
from backend.services.auth import audit
from backend.services.records import public_id, pupil_of_guardian
from backend.store import attendance, schools

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
