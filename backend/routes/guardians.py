"""Guardians (language and channel preference) and their links to pupils."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from backend.db import transaction
from backend.deps import AdminOf, DbDep, StaffOf
from backend.services import records
from backend.services.auth import audit
from backend.store import schools
from backend.store.schools import Guardian
from backend.text import Address, Name
from notifications.templates import Language

router = APIRouter(prefix="/api/v1/schools/{school_id}/guardians", tags=["guardians"])


class GuardianBody(BaseModel):
    """A guardian and where their messages go."""

    model_config = ConfigDict(extra="forbid")

    guardian_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Id")
    name: Name = Field(min_length=1, max_length=200, description="Name")
    language: Language = Field(description="Language of the messages")
    channel: Literal["email", "telegram", "sms"] = Field(description="Preferred channel")
    address: Address = Field(min_length=1, max_length=200, description="E-mail, Telegram chat id or phone number")


@router.post("", status_code=201, response_model=GuardianBody)
def create_guardian(school_id: str, body: GuardianBody, db: DbDep, _: AdminOf) -> GuardianBody:
    """Create a guardian."""
    with transaction(db) as conn:
        records.create_guardian(
            conn, school_id, Guardian(body.guardian_id, body.name, body.language, body.channel, body.address)
        )
    return body


@router.get("", response_model=list[GuardianBody])
def list_guardians(school_id: str, db: DbDep, who: StaffOf) -> list[GuardianBody]:
    """Guardians of the school (contact details: the view is audited)."""
    rows = schools.guardians(db.conn, school_id)
    audit(db.conn, who, school_id, "view_guardians", "guardians")
    return [
        GuardianBody(
            guardian_id=records.public_id(g.guardian_id), name=g.name, language=g.language, channel=g.channel,
            address=g.address,
        )
        for g in rows
    ]  # fmt: skip


@router.put("/{guardian_id}/pupils/{pupil_id}", status_code=204)
def link(school_id: str, guardian_id: str, pupil_id: str, db: DbDep, _: AdminOf) -> Response:
    """Make the guardian a guardian of the pupil (both of this school)."""
    with transaction(db) as conn:
        guardian = records.guardian_of_school(conn, school_id, guardian_id)
        schools.link(conn, guardian, records.pupil_of_school(conn, school_id, pupil_id).pupil_id)
    return Response(status_code=204)


@router.delete("/{guardian_id}/pupils/{pupil_id}", status_code=204)
def unlink(school_id: str, guardian_id: str, pupil_id: str, db: DbDep, _: AdminOf) -> Response:
    """Remove a guardian-pupil link."""
    with transaction(db) as conn:
        guardian = records.guardian_of_school(conn, school_id, guardian_id)
        schools.unlink(conn, guardian, records.pupil_of_school(conn, school_id, pupil_id).pupil_id)
    return Response(status_code=204)
