"""Liveness and readiness of the backend."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from backend.deps import DbDep
from backend.store import events, system

router = APIRouter(prefix="/api/v1/health", tags=["health"])


class HealthPublic(BaseModel):
    """Health report."""

    status: str = Field(description="'ok' when the database answers")
    schema_version: int = Field(description="Highest applied migration")
    events: int = Field(description="Events stored")


@router.get("", response_model=HealthPublic)
def health(db: DbDep) -> HealthPublic:
    """Check the database and report the schema version."""
    return HealthPublic(status="ok", schema_version=system.schema_version(db.conn), events=events.count(db.conn))
