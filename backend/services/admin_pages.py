"""What a school admin's pages show: classes, pupils with consent and face templates, guardians, door cameras with
their health, and the school's time zone."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from backend.services.attendance import local
from backend.services.dashboard import CameraLine, camera_lines
from backend.services.pages import school_zone, valid_zone
from backend.services.records import public_id, pupil_of_school, school_name
from backend.store import devices, faces, schools
from backend.store import pages as store


@dataclass(frozen=True, slots=True)
class PupilRow:
    """A pupil on the admin page."""

    pupil_id: str
    name: str
    class_name: str
    consent: bool
    consent_by: str
    consent_at: str
    templates: int


@dataclass(frozen=True, slots=True)
class SchoolView:
    """The admin page."""

    school_id: str
    name: str
    zone: str
    classes: list[schools.SchoolClass]
    pupils: list[PupilRow]
    guardians: list[schools.Guardian]
    cameras: list[CameraLine]
    last_seen: dict[str, str]


def _pupil_row(conn: sqlite3.Connection, key: str, name: str, class_name: str, zone: ZoneInfo) -> PupilRow:
    consent = store.consent_record(conn, key)
    at = "" if consent is None else local(consent[3], zone).strftime("%Y-%m-%d %H:%M")
    return PupilRow(public_id(key), name, class_name, consent is not None and consent[0],
                    "" if consent is None else consent[1], at, faces.template_count(conn, key))  # fmt: skip


def school_view(conn: sqlite3.Connection, school_id: str, default_zone: str) -> SchoolView:
    """Everything on the admin page."""
    zone_name = school_zone(conn, school_id, default_zone)
    zone = ZoneInfo(zone_name)
    pupils = [_pupil_row(conn, r.pupil_id, r.name, r.class_name, zone) for r in schools.roster(conn, school_id)]
    rows = schools.classes(conn, school_id)
    classes = [schools.SchoolClass(public_id(c.class_id), c.name, c.start_time) for c in rows]
    guardians = [
        schools.Guardian(public_id(g.guardian_id), g.name, g.language, g.channel, g.address)
        for g in schools.guardians(conn, school_id)
    ]
    seen = {
        d.camera_id: local(d.last_seen_at, zone).strftime("%Y-%m-%d %H:%M")
        for d in devices.of_site(conn, "school", school_id) if d.last_seen_at
    }  # fmt: skip
    return SchoolView(school_id, school_name(conn, school_id), zone_name, classes, pupils, guardians,
                      camera_lines(conn, school_id, zone), seen)  # fmt: skip


def pupil_view(conn: sqlite3.Connection, school_id: str, pupil_id: str) -> PupilRow:
    """One pupil of the school with consent (who, when) and templates."""
    pupil = pupil_of_school(conn, school_id, pupil_id)
    zone = ZoneInfo(school_zone(conn, school_id, "UTC"))
    return _pupil_row(conn, pupil.pupil_id, pupil.name, "", zone)


def set_zone(conn: sqlite3.Connection, school_id: str, zone: str) -> None:
    """Set the school's time zone (422 unless an IANA zone)."""
    store.set_school_timezone(conn, school_id, valid_zone(zone))
