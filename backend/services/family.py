"""What a family sees and does: each child's day and week, consent with one-tap withdrawal, where messages go, and
an export of everything the school's system holds about the child (vendor-neutral JSON and CSV), so a family keeps
its records when the school changes supplier. Also the staff-only best frame of a pass."""

from __future__ import annotations

import csv
import io
import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from backend.services import privacy
from backend.services.attendance import local
from backend.services.auth import Principal, audit
from backend.services.errors import NotFoundError
from backend.services.pages import school_zone, week_days
from backend.services.records import public_id, pupil_of_guardian, school_name
from backend.store import faces, schools
from backend.store import pages as store

EXPORT_FORMAT = "kuzet.child-record/1"


@dataclass(frozen=True, slots=True)
class DayLine:
    """One day of a child, local times."""

    day: str
    state: str
    first_in: str
    last_out: str
    late: bool
    feverish: bool


@dataclass(frozen=True, slots=True)
class ChildView:
    """One child on the parents' page."""

    pupil_id: str
    name: str
    school: str
    today: DayLine
    week: list[DayLine]
    consent: bool
    consent_by: str
    consent_at: str
    templates: int


@dataclass(frozen=True, slots=True)
class FamilyView:
    """The parents' page."""

    guardian_name: str
    language: str
    channel: str
    address: str
    children: list[ChildView]


def _hm(value: str | None, zone: ZoneInfo) -> str:
    return "" if value is None else local(value, zone).strftime("%H:%M")


def _child(conn: sqlite3.Connection, pupil: schools.Pupil, default_zone: str) -> ChildView:
    zone_name = school_zone(conn, pupil.school_id, default_zone)
    zone = ZoneInfo(zone_name)
    days = week_days(datetime.now(zone).date().isoformat())
    stored = {d.day: d for d in store.days_between(conn, pupil.pupil_id, days[0], days[-1])}
    week = []
    for day in days:
        d = stored.get(day)
        week.append(
            DayLine(day, "absent", "", "", False, False) if d is None
            else DayLine(day, d.state, _hm(d.first_in, zone), _hm(d.last_out, zone), d.late, d.feverish)
        )  # fmt: skip
    consent = store.consent_record(conn, pupil.pupil_id)
    at = "" if consent is None else local(consent[3], zone).strftime("%Y-%m-%d %H:%M")
    return ChildView(
        public_id(pupil.pupil_id), pupil.name, school_name(conn, pupil.school_id), week[-1], week,
        consent is not None and consent[0], "" if consent is None else consent[1], at,
        faces.template_count(conn, pupil.pupil_id),
    )  # fmt: skip


def family_view(conn: sqlite3.Connection, who: Principal, default_zone: str) -> FamilyView:
    """The guardian's page: their preferences and each child (the read is audited in the children's school)."""
    assert who.guardian_id is not None
    name, language, channel, address = store.guardian(conn, who.guardian_id) or ("", "ru", "email", "")
    kids = [_child(conn, p, default_zone) for p in schools.children(conn, who.guardian_id)]
    audit(conn, who, who.school_id, "view_children", f"guardian:{who.guardian_id}")
    return FamilyView(name, language, channel, address, kids)


def withdraw_consent(conn: sqlite3.Connection, who: Principal, pupil_id: str) -> int:
    """The guardian withdraws consent: the templates and thumbnail are deleted now and the door gallery loses them
    at its next sync (a new gallery version); audited. Returns the templates removed."""
    assert who.guardian_id is not None
    child = pupil_of_guardian(conn, who.guardian_id, pupil_id)
    removed = faces.template_count(conn, child.pupil_id)
    guardian = store.guardian(conn, who.guardian_id)
    privacy.set_consent(conn, child.pupil_id, False, guardian[0] if guardian else who.username, who.user_id)
    audit(conn, who, child.school_id, "consent_withdrawn", f"pupil:{pupil_id}")
    return removed


def set_preferences(conn: sqlite3.Connection, who: Principal, language: str, channel: str, address: str) -> None:
    """Where and in which language the family's messages go (the page language follows)."""
    assert who.guardian_id is not None
    store.set_guardian_preferences(conn, who.guardian_id, language, channel, address)
    store.set_user_language(conn, who.user_id, language)
    audit(conn, who, who.school_id, "set_preferences", f"guardian:{who.guardian_id}")


def export_child(conn: sqlite3.Connection, who: Principal, pupil_id: str) -> dict[str, Any]:
    """Everything held about one of the guardian's children, in a vendor-neutral document (audited).

    Face templates are listed (model, date) but never exported: they are numbers only this supplier's model
    reads, sealed with the school's key; the passes, days, consent and the audit trail are the family's record.
    """
    assert who.guardian_id is not None
    child = pupil_of_guardian(conn, who.guardian_id, pupil_id)
    zone_name = school_zone(conn, child.school_id, "UTC")
    consent = store.consent_record(conn, child.pupil_id)
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": datetime.now(UTC).isoformat(),
        "school": {"school_id": child.school_id, "name": school_name(conn, child.school_id), "timezone": zone_name},
        "pupil": {"pupil_id": public_id(child.pupil_id), "name": child.name,
                  "class_id": None if child.class_id is None else public_id(child.class_id)},
        "guardians": [{"guardian_id": public_id(c.guardian_id), "language": c.language, "channel": c.channel,
                       **({"address": c.address} if c.guardian_id == who.guardian_id else {})}
                      for c in schools.guardian_contacts(conn, child.pupil_id)],
        "consent": None if consent is None else dict(zip(("granted", "given_by", "recorded_by", "recorded_at"),
                                                         consent, strict=True)),
        "face_templates": [{"model": m, "created_at": at} for m, at in store.template_models(conn, child.pupil_id)],
        "days": [asdict(d) for d in store.days_between(conn, child.pupil_id, "0000", "9999")],
        "passes": [{"day": d, "captured_at": at, "direction": direction, "temperature_c": temp}
                   for d, at, direction, temp in store.all_passes(conn, child.pupil_id)],
        "audit": [{"at": at, "role": role, "action": action, "subject": subject}
                  for at, role, action, subject in store.audit_of_subject(conn, child.school_id, f"pupil:{pupil_id}")],
    }  # fmt: skip
    audit(conn, who, child.school_id, "export_child", f"pupil:{pupil_id}")
    return document


CSV_COLUMNS = ("record", "day", "captured_at", "direction_or_state", "first_in", "last_out", "late", "feverish",
               "temperature_c")  # fmt: skip


def export_csv(document: dict[str, Any]) -> str:
    """The export's days and passes as one CSV table (the JSON has the rest)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for d in document["days"]:
        writer.writerow(
            [
                "day",
                d["day"],
                "",
                d["state"],
                d["first_in"] or "",
                d["last_out"] or "",
                int(d["late"]),
                int(d["feverish"]),
                "" if d["max_temperature_c"] is None else d["max_temperature_c"],
            ]
        )
    for p in document["passes"]:
        writer.writerow(["pass", p["day"], p["captured_at"], p["direction"], "", "", "", "",
                         "" if p["temperature_c"] is None else p["temperature_c"]])  # fmt: skip
    return buffer.getvalue()


def pass_frame_sha(conn: sqlite3.Connection, school_id: str, event_id: str) -> str:
    """The cited image of a pass of this school (else the same 404 for "not yours" and "not there")."""
    owner = store.pass_school(conn, event_id)
    shas = [] if owner is None or owner[0] != school_id else store.attachment_shas(conn, event_id)
    if not shas:
        raise NotFoundError("Not found", "no frame of this pass")
    return str(shas[0])
