"""Classes of a school, each with its start time (lateness is measured against it)."""

from __future__ import annotations

import sqlite3

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from backend.db import transaction
from backend.deps import DbDep
from backend.errors import Problem
from backend.services.auth import AdminOf, StaffOf

router = APIRouter(prefix="/api/v1/schools/{school_id}/classes", tags=["classes"])


class ClassBody(BaseModel):
    """A class."""

    model_config = ConfigDict(extra="forbid")

    class_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Id")
    name: str = Field(min_length=1, max_length=100, description="Name, e.g. 5A")
    start_time: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Lessons start, HH:MM local time")


@router.post("", status_code=201, response_model=ClassBody)
def create_class(school_id: str, body: ClassBody, db: DbDep, _: AdminOf) -> ClassBody:
    """Create a class."""
    with transaction(db) as conn:
        try:
            conn.execute(
                "INSERT INTO classes(class_id, school_id, name, start_time) VALUES (?, ?, ?, ?)",
                (body.class_id, school_id, body.name, body.start_time),
            )
        except sqlite3.IntegrityError as exc:
            raise Problem(409, "Class exists", f"class {body.class_id!r} exists") from exc
    return body


@router.get("", response_model=list[ClassBody])
def list_classes(school_id: str, db: DbDep, _: StaffOf) -> list[ClassBody]:
    """Classes of the school."""
    rows = db.execute(
        "SELECT class_id, name, start_time FROM classes WHERE school_id = ? ORDER BY name", (school_id,)
    ).fetchall()
    return [ClassBody(class_id=r[0], name=r[1], start_time=r[2]) for r in rows]
