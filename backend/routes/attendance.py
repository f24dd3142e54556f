"""Attendance of a school-day (the dashboard's data, also its live-update feed) and unknown-face snapshots."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from backend.deps import DbDep, SettingsDep, StaffOf
from backend.routes.exports import DAY_PATTERN, checked_day
from backend.routes.media import JPEG_RESPONSES, media_response
from backend.services.auth import audit
from backend.services.dashboard import DaySummary, summary, today
from backend.services.media import MediaVault, school_media_type
from backend.services.records import found
from backend.store import attendance as attendance_store

router = APIRouter(prefix="/api/v1/schools/{school_id}", tags=["attendance"])
Day = Annotated[str | None, Query(pattern=DAY_PATTERN, description="Local date; default today")]


@router.get("/attendance", response_model=DaySummary)
def attendance(school_id: str, db: DbDep, settings: SettingsDep, who: StaffOf, day: Day = None) -> DaySummary:
    """Inside now, late, feverish, unknown faces, per class and failed deliveries of a day."""
    day = checked_day(day) if day else today(settings.school.timezone)
    audit(db.conn, who, school_id, "view_attendance", f"day:{day}", quiet_minutes=10)
    return summary(db.conn, school_id, day, settings.school.timezone)


@router.get(
    "/unknown/{event_id}/snapshot",
    response_class=Response,
    responses=JPEG_RESPONSES,
)
def unknown_snapshot(school_id: str, event_id: str, db: DbDep, settings: SettingsDep, who: StaffOf) -> Response:
    """The snapshot of an unknown face at this school's door (until the retention purge removes it); only bytes this
    school's doors uploaded (else the same 404 as none)."""
    sha256, _ = found(attendance_store.unknown_snapshot(db.conn, school_id, event_id), "snapshot of this unknown face")
    media_type = school_media_type(db.conn, sha256, school_id)
    data = found(MediaVault.of(settings).read(sha256), "snapshot of this unknown face")
    audit(db.conn, who, school_id, "view_unknown_snapshot", f"event:{event_id}")
    return media_response(data, media_type)
