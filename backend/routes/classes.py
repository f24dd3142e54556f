"""Classes of a school, each with its start time (lateness is measured against it)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from backend.db import transaction
from backend.deps import AdminOf, DbDep, StaffOf
from backend.services import records
from backend.store import schools
from backend.store.schools import SchoolClass
from backend.text import Name

router = APIRouter(prefix="/api/v1/schools/{school_id}/classes", tags=["classes"])


class ClassBody(BaseModel):
    """A class."""

    model_config = ConfigDict(extra="forbid")

    class_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Id")
    name: Name = Field(min_length=1, max_length=100, description="Name, e.g. 5A")
    start_time: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Lessons start, HH:MM local time")


@router.post("", status_code=201, response_model=ClassBody)
def create_class(school_id: str, body: ClassBody, db: DbDep, _: AdminOf) -> ClassBody:
    """Create a class."""
    with transaction(db) as conn:
        records.create_class(conn, school_id, SchoolClass(body.class_id, body.name, body.start_time))
    return body


@router.get("", response_model=list[ClassBody])
def list_classes(school_id: str, db: DbDep, _: StaffOf) -> list[ClassBody]:
    """Classes of the school."""
    return [
        ClassBody(class_id=records.public_id(c.class_id), name=c.name, start_time=c.start_time)
        for c in schools.classes(db.conn, school_id)
    ]
