"""What the staff dashboard shows for one school-day: inside now, late, feverish, unknown faces, per class, failed
deliveries and the health of the door cameras. One function builds it, so the page, its live-update endpoint and the
CSV export agree."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from backend.services.attendance import local
from backend.services.records import public_id
from backend.store import attendance as store
from backend.store import camera_health
from notifications import outbox


class PupilLine(BaseModel):
    """A pupil on the dashboard."""

    pupil_id: str = Field(description="Pupil")
    name: str = Field(description="Name")
    class_name: str | None = Field(description="Class")
    state: str = Field(description="inside, left or absent")
    first_in: str | None = Field(description="First entry, local HH:MM")
    last_out: str | None = Field(description="Last exit, local HH:MM")
    late: bool = Field(description="Arrived after class start + grace")
    feverish: bool = Field(description="A temperature at or above the door's fever threshold")
    max_temperature_c: float | None = Field(description="Highest temperature of the day")
    temperature_source: str | None = Field(
        default=None, description="sensor or synthetic (rendered, not measured); None when the door did not say"
    )
    temperature_sigma_c: float | None = Field(default=None, description="1-sigma uncertainty of it, C")
    fever_threshold_c: float | None = Field(default=None, description="The door's fever threshold for it, C")
    temperature_text: str = Field(default="", description="For people: '38.2 ± 0.3 °C', '(synthetic)' when so")


class UnknownLine(BaseModel):
    """An unknown face at a door."""

    event_id: str = Field(description="Event")
    time: str = Field(description="Local HH:MM:SS")
    camera_id: str = Field(description="Door camera")
    snapshot: bool = Field(description="A snapshot is still kept")


class ClassLine(BaseModel):
    """Attendance of one class."""

    class_id: str = Field(description="Class")
    name: str = Field(description="Name")
    pupils: int = Field(description="Pupils in the class")
    present: int = Field(description="Pupils who entered today")


class Failed(BaseModel):
    """A message that could not be delivered (dead letter)."""

    recipient: str = Field(description="Where it should have gone")
    channel: str = Field(description="Channel")
    reason: str = Field(description="Why it failed")
    kind: str = Field(description="Message kind")


class CameraLine(BaseModel):
    """A door camera's current health (a covered or frozen door identifies nobody: staff must see it at once)."""

    camera_id: str = Field(description="Door camera")
    description: str = Field(description="Where it hangs")
    state: str = Field(description="healthy, covered, frozen, ...; 'unknown' before its first health report")
    active: list[str] = Field(description="Every non-healthy state active now, most severe first")
    since: str | None = Field(description="Local date and time the state began, YYYY-MM-DD HH:MM")
    message: str = Field(description="What is wrong and what to do")
    alert: bool = Field(description="The camera is not healthy (shown emphasised)")


class DaySummary(BaseModel):
    """Everything on the dashboard for one day."""

    school_id: str = Field(description="School")
    day: str = Field(description="Local date YYYY-MM-DD")
    inside: list[PupilLine] = Field(description="Inside now")
    late: list[PupilLine] = Field(description="Late today")
    feverish: list[PupilLine] = Field(description="Feverish today")
    pupils: list[PupilLine] = Field(description="Every pupil of the school with today's state")
    unknown: list[UnknownLine] = Field(description="Unknown faces today")
    classes: list[ClassLine] = Field(description="Per-class attendance")
    failed: list[Failed] = Field(description="Failed deliveries")
    cameras: list[CameraLine] = Field(default_factory=list, description="Door cameras and their health now")


def today(zone: str) -> str:
    """The current local date of the school."""
    return datetime.now(ZoneInfo(zone)).date().isoformat()


def _hm(value: str | None, zone: ZoneInfo) -> str | None:
    return None if value is None else local(value, zone).strftime("%H:%M")


def temperature_text(value: float | None, sigma: float | None, source: str | None) -> str:
    """``38.2 ± 0.3 °C``, with `` (synthetic)`` for rendered data; empty without a temperature."""
    if value is None:
        return ""
    text = f"{value:.1f}" + ("" if sigma is None else f" ± {sigma:.1f}") + " °C"
    return text + (" (synthetic)" if source == "synthetic" else "")


def pupil_lines(conn: sqlite3.Connection, school_id: str, day: str, zone: ZoneInfo) -> list[PupilLine]:
    """Every pupil of the school with the day's derived attendance (absent when no event)."""
    return [
        PupilLine(
            pupil_id=public_id(r.pupil_id),
            name=r.name,
            class_name=r.class_name,
            state=r.state,
            first_in=_hm(r.first_in, zone),
            last_out=_hm(r.last_out, zone),
            late=r.late,
            feverish=r.feverish,
            max_temperature_c=r.max_temperature_c,
            temperature_source=r.temperature_source,
            temperature_sigma_c=r.temperature_sigma_c,
            fever_threshold_c=r.fever_threshold_c,
            temperature_text=temperature_text(r.max_temperature_c, r.temperature_sigma_c, r.temperature_source),
        )
        for r in store.pupil_days(conn, school_id, day)
    ]


def failed_deliveries(conn: sqlite3.Connection, school_id: str) -> list[Failed]:
    """Dead letters of the notifications outbox, with the reason."""
    return [
        Failed(recipient=f.recipient, channel=f.channel, reason=f.reason, kind=f.kind)
        for f in outbox.failed(conn, school_id, limit=50)
    ]


def camera_lines(conn: sqlite3.Connection, school_id: str, zone: ZoneInfo) -> list[CameraLine]:
    """The school's door cameras with their current health, the unhealthy ones first."""
    lines = [
        CameraLine(
            camera_id=c.camera_id,
            description=c.description,
            state=c.state or "unknown",
            active=list(c.active),
            since=None if c.since is None else local(c.since, zone).strftime("%Y-%m-%d %H:%M"),
            message=c.message,
            alert=c.state not in (None, "healthy"),
        )
        for c in camera_health.lines(conn, "school", school_id)
    ]
    return sorted(lines, key=lambda c: not c.alert)


def summary(conn: sqlite3.Connection, school_id: str, day: str, zone_name: str) -> DaySummary:
    """The dashboard of ``school_id`` on ``day``."""
    zone = ZoneInfo(zone_name)
    pupils = pupil_lines(conn, school_id, day, zone)
    unknown = [
        UnknownLine(
            event_id=u.event_id,
            time=local(u.captured_at, zone).strftime("%H:%M:%S"),
            camera_id=u.camera_id,
            snapshot=u.snapshot_sha256 is not None,
        )
        for u in store.unknown_of_day(conn, school_id, day)
    ]
    classes = [
        ClassLine(class_id=public_id(c.class_id), name=c.name, pupils=c.pupils, present=c.present)
        for c in store.class_days(conn, school_id, day)
    ]
    return DaySummary(
        school_id=school_id,
        day=day,
        inside=[p for p in pupils if p.state == "inside"],
        late=[p for p in pupils if p.late],
        feverish=[p for p in pupils if p.feverish],
        pupils=pupils,
        unknown=unknown,
        classes=classes,
        failed=failed_deliveries(conn, school_id),
        cameras=camera_lines(conn, school_id, zone),
    )
