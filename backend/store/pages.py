"""What the pages read and write beyond the other stores: per-school time zone, per-user language, the board's
change fingerprint, a pupil's day and week, a family's preferences and everything held about a child."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from backend.store.dialect import scalars


@dataclass(frozen=True, slots=True)
class PassEvidence:
    """One pass of a pupil with the media its event cites."""

    event_id: str
    captured_at: str
    direction: str
    temperature_c: float | None
    camera_id: str
    payload: str
    shas: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DayState:
    """A pupil's stored attendance of one day."""

    day: str
    state: str
    first_in: str | None
    last_out: str | None
    late: bool
    feverish: bool
    max_temperature_c: float | None


def school_timezone(conn: sqlite3.Connection, school_id: str) -> str | None:
    """The school's own IANA zone, or None (the deployment's default applies)."""
    row = conn.execute("SELECT timezone FROM schools WHERE school_id = :s", {"s": school_id}).fetchone()
    return None if row is None else row[0]


def set_school_timezone(conn: sqlite3.Connection, school_id: str, zone: str) -> None:
    """Set the school's zone."""
    conn.execute("UPDATE schools SET timezone = :z WHERE school_id = :s", {"z": zone, "s": school_id})


def user_language(conn: sqlite3.Connection, user_id: str) -> str | None:
    """The language a user chose for pages and alerts (None: no such user row, e.g. the admin token)."""
    row = conn.execute("SELECT language FROM users WHERE user_id = :u", {"u": user_id}).fetchone()
    return None if row is None else row[0]


def set_user_language(conn: sqlite3.Connection, user_id: str, language: str) -> bool:
    """Remember a user's language; False when there is no such user row."""
    cursor = conn.execute("UPDATE users SET language = :l WHERE user_id = :u", {"l": language, "u": user_id})
    return cursor.rowcount > 0


def board_fingerprint(conn: sqlite3.Connection, school_id: str) -> tuple[Any, ...]:
    """Changes whenever a door camera of the school delivers an event (passes, unknown faces, health)."""
    row = conn.execute(
        "SELECT COUNT(*), MAX(e.received_at) FROM events e JOIN devices d ON d.camera_id = e.camera_id"
        " WHERE d.kind = 'school' AND d.site = :s",
        {"s": school_id},
    ).fetchone()
    return (row[0], row[1])


def arrival_times(conn: sqlite3.Connection, school_id: str, day: str) -> list[str]:
    """Capture times (UTC ISO) of the day's new entries at the school."""
    sql = (
        "SELECT captured_at FROM school_passes WHERE school_id = :s AND day = :d AND direction = 'entered'"
        " AND new_pass = 1 ORDER BY captured_at"
    )
    return scalars(conn.execute(sql, {"s": school_id, "d": day}))


def passes_with_evidence(conn: sqlite3.Connection, pupil_id: str, day: str) -> list[PassEvidence]:
    """Every pass of a pupil-day, oldest first, with its event's camera, payload and cited media."""
    rows = conn.execute(
        "SELECT s.event_id, s.captured_at, s.direction, s.temperature_c, e.camera_id, e.payload"
        " FROM school_passes s JOIN events e ON e.event_id = s.event_id"
        " WHERE s.pupil_id = :p AND s.day = :d ORDER BY s.captured_at",
        {"p": pupil_id, "d": day},
    ).fetchall()
    out = []
    for r in rows:
        shas = scalars(conn.execute("SELECT sha256 FROM event_attachments WHERE event_id = :e", {"e": r[0]}))
        out.append(PassEvidence(r[0], r[1], r[2], r[3], r[4], r[5], tuple(shas)))
    return out


def pass_school(conn: sqlite3.Connection, event_id: str) -> tuple[str, str] | None:
    """(school_id, pupil_id) of a pass, or None."""
    row = conn.execute("SELECT school_id, pupil_id FROM school_passes WHERE event_id = :e", {"e": event_id}).fetchone()
    return None if row is None else (row[0], row[1])


def days_between(conn: sqlite3.Connection, pupil_id: str, first: str, last: str) -> list[DayState]:
    """The pupil's stored attendance days from ``first`` to ``last`` (inclusive), oldest first."""
    rows = conn.execute(
        "SELECT day, state, first_in, last_out, late, feverish, max_temperature_c FROM attendance"
        " WHERE pupil_id = :p AND day >= :a AND day <= :b ORDER BY day",
        {"p": pupil_id, "a": first, "b": last},
    )
    return [DayState(r[0], r[1], r[2], r[3], bool(r[4]), bool(r[5]), r[6]) for r in rows]


def all_passes(conn: sqlite3.Connection, pupil_id: str) -> list[tuple[str, str, str, float | None]]:
    """(day, captured_at, direction, temperature_c) of every stored pass of the pupil, oldest first."""
    rows = conn.execute(
        "SELECT day, captured_at, direction, temperature_c FROM school_passes WHERE pupil_id = :p ORDER BY captured_at",
        {"p": pupil_id},
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def consent_record(conn: sqlite3.Connection, pupil_id: str) -> tuple[bool, str, str, str] | None:
    """(granted, given_by, recorded_by, recorded_at) of the pupil's consent, or None when never recorded."""
    row = conn.execute(
        "SELECT granted, given_by, recorded_by, recorded_at FROM consents WHERE pupil_id = :p", {"p": pupil_id}
    ).fetchone()
    return None if row is None else (bool(row[0]), row[1], row[2], row[3])


def guardian(conn: sqlite3.Connection, guardian_id: str) -> tuple[str, str, str, str] | None:
    """(name, language, channel, address) of a guardian, or None."""
    row = conn.execute(
        "SELECT name, language, channel, address FROM guardians WHERE guardian_id = :g", {"g": guardian_id}
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2], row[3])


def set_guardian_preferences(conn: sqlite3.Connection, guardian_id: str, language: str, channel: str,
                             address: str) -> None:  # fmt: skip
    """Where and in which language a family's messages go."""
    conn.execute(
        "UPDATE guardians SET language = :l, channel = :c, address = :a WHERE guardian_id = :g",
        {"l": language, "c": channel, "a": address, "g": guardian_id},
    )


def audit_of_subject(conn: sqlite3.Connection, school_id: str, subject: str) -> list[tuple[str, str, str, str]]:
    """(at, role, action, subject) of every audit row of the school naming ``subject``, oldest first."""
    rows = conn.execute(
        "SELECT at, role, action, subject FROM audit_log WHERE school_id = :s AND subject = :subject ORDER BY at",
        {"s": school_id, "subject": subject},
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def template_models(conn: sqlite3.Connection, pupil_id: str) -> list[tuple[str, str]]:
    """(model, created_at) of each of the pupil's face templates (never the vectors)."""
    rows = conn.execute(
        "SELECT model, created_at FROM face_templates WHERE pupil_id = :p ORDER BY created_at", {"p": pupil_id}
    )
    return [(r[0], r[1]) for r in rows]


def attachment_shas(conn: sqlite3.Connection, event_id: str) -> list[str]:
    """SHA-256s the event cites, images first."""
    sql = (
        "SELECT a.sha256 FROM event_attachments a JOIN media m ON m.sha256 = a.sha256 WHERE a.event_id = :e"
        " ORDER BY CASE WHEN m.media_type LIKE 'image/%' THEN 0 ELSE 1 END, a.role"
    )
    return scalars(conn.execute(sql, {"e": event_id}))
