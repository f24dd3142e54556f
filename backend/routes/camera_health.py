"""Camera health: every visible camera's current state, and one camera's history of changes.

The platform admin sees every camera, school staff their school's door cameras, operators their district's traffic
cameras; another camera answers 404 exactly like a camera that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from backend.deps import DbDep, PrincipalDep
from backend.services import camera_health as service

router = APIRouter(prefix="/api/v1/cameras", tags=["camera health"])


class CameraHealthPublic(BaseModel):
    """A camera with its current health (``state`` None: it has not reported its health yet)."""

    camera_id: str = Field(description="Camera")
    kind: str = Field(description="Product: school or traffic")
    site: str = Field(description="School id or traffic district")
    state: str | None = Field(description="Most severe active state (healthy when none); None before any report")
    active: list[str] = Field(description="Every non-healthy state active now, most severe first")
    since: str | None = Field(description="Capture time (UTC ISO) at which the state began")
    message: str = Field(description="What is wrong and what to do, from the camera")
    measures: dict[str, Any] = Field(description="The figures behind the judgement (CameraHealthMeasures)")
    updated_at: str | None = Field(description="When the backend received the current state (UTC ISO)")


class HealthChangePublic(BaseModel):
    """One reported change of a camera's health."""

    event_id: str = Field(description="The CameraHealthEvent")
    state: str = Field(description="New state")
    active: list[str] = Field(description="Every non-healthy state active then")
    previous: str = Field(description="State before the change")
    since: str = Field(description="Capture time (UTC ISO) at which the state began")
    captured_at: str = Field(description="Capture time (UTC ISO) of the deciding frame")
    message: str = Field(description="What was wrong, from the camera")
    measures: dict[str, Any] = Field(description="The figures behind the judgement")
    received_at: str = Field(description="When the backend received it (UTC ISO)")


Limit = Annotated[int, Query(ge=1, le=1000, description="How many changes, newest first")]


@router.get("/health", response_model=list[CameraHealthPublic])
def cameras_health(db: DbDep, who: PrincipalDep) -> list[CameraHealthPublic]:
    """The current health of every camera the caller may see."""
    return [
        CameraHealthPublic(
            camera_id=c.camera_id, kind=c.kind, site=c.site, state=c.state, active=list(c.active), since=c.since,
            message=c.message, measures=c.measures, updated_at=c.updated_at,
        )
        for c in service.visible(db.conn, who)
    ]  # fmt: skip


@router.get("/{camera_id}/health/history", response_model=list[HealthChangePublic])
def camera_health_history(camera_id: str, db: DbDep, who: PrincipalDep, limit: Limit = 100) -> list[HealthChangePublic]:
    """The health changes of one of the caller's cameras, newest first in capture order."""
    return [
        HealthChangePublic(
            event_id=h.event_id, state=h.state, active=list(h.active), previous=h.previous, since=h.since,
            captured_at=h.captured_at, message=h.message, measures=h.measures, received_at=h.updated_at,
        )
        for h in service.history(db.conn, who, camera_id, limit)
    ]  # fmt: skip
