"""Guardians (language and channel preference) and their links to pupils."""

from __future__ import annotations

import sqlite3
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from backend.db import transaction
from backend.deps import DbDep
from backend.errors import Problem
from backend.services.auth import AdminOf, StaffOf, audit
from backend.services.records import one, pupil_of_school

router = APIRouter(prefix="/api/v1/schools/{school_id}/guardians", tags=["guardians"])


class GuardianBody(BaseModel):
    """A guardian and where their messages go."""

    model_config = ConfigDict(extra="forbid")

    guardian_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Id")
    name: str = Field(min_length=1, max_length=200, description="Name")
    language: Literal["kk", "ru", "en"] = Field(description="Language of the messages")
    channel: Literal["email", "telegram", "sms"] = Field(description="Preferred channel")
    address: str = Field(min_length=1, max_length=200, description="E-mail, Telegram chat id or phone number")


@router.post("", status_code=201, response_model=GuardianBody)
def create_guardian(school_id: str, body: GuardianBody, db: DbDep, _: AdminOf) -> GuardianBody:
    """Create a guardian."""
    with transaction(db) as conn:
        try:
            conn.execute(
                "INSERT INTO guardians(guardian_id, school_id, name, language, channel, address)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (body.guardian_id, school_id, body.name, body.language, body.channel, body.address),
            )
        except sqlite3.IntegrityError as exc:
            raise Problem(409, "Guardian exists", f"guardian {body.guardian_id!r} exists") from exc
    return body


@router.get("", response_model=list[GuardianBody])
def list_guardians(school_id: str, db: DbDep, who: StaffOf) -> list[GuardianBody]:
    """Guardians of the school (contact details: the view is audited)."""
    rows = db.execute(
        "SELECT guardian_id, name, language, channel, address FROM guardians WHERE school_id = ? ORDER BY name",
        (school_id,),
    ).fetchall()
    audit(db.conn, who, school_id, "view_guardians", "guardians")
    return [GuardianBody(guardian_id=r[0], name=r[1], language=r[2], channel=r[3], address=r[4]) for r in rows]


def _guardian(conn: sqlite3.Connection, school_id: str, guardian_id: str) -> None:
    one(
        conn,
        "SELECT 1 FROM guardians WHERE guardian_id = ? AND school_id = ?",
        (guardian_id, school_id),
        f"guardian {guardian_id!r} in this school",
    )


@router.put("/{guardian_id}/pupils/{pupil_id}", status_code=204)
def link(school_id: str, guardian_id: str, pupil_id: str, db: DbDep, _: AdminOf) -> Response:
    """Make the guardian a guardian of the pupil (both of this school)."""
    with transaction(db) as conn:
        _guardian(conn, school_id, guardian_id)
        pupil_of_school(conn, school_id, pupil_id)
        conn.execute(
            "INSERT OR IGNORE INTO guardian_pupils(guardian_id, pupil_id) VALUES (?, ?)", (guardian_id, pupil_id)
        )
    return Response(status_code=204)


@router.delete("/{guardian_id}/pupils/{pupil_id}", status_code=204)
def unlink(school_id: str, guardian_id: str, pupil_id: str, db: DbDep, _: AdminOf) -> Response:
    """Remove a guardian-pupil link."""
    with transaction(db) as conn:
        _guardian(conn, school_id, guardian_id)
        pupil_of_school(conn, school_id, pupil_id)
        conn.execute("DELETE FROM guardian_pupils WHERE guardian_id = ? AND pupil_id = ?", (guardian_id, pupil_id))
    return Response(status_code=204)
