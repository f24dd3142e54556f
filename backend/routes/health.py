"""Liveness and readiness of the backend."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from backend.deps import DbDep

router = APIRouter(prefix="/api/v1/health", tags=["health"])


class HealthPublic(BaseModel):
    """Health report."""

    status: str = Field(description="'ok' when the database answers")
    schema_version: int = Field(description="Highest applied migration")
    events: int = Field(description="Events stored")


@router.get("", response_model=HealthPublic)
def health(db: DbDep) -> HealthPublic:
    """Check the database and report the schema version."""
    version = db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
    events = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    return HealthPublic(status="ok", schema_version=int(version), events=int(events))
