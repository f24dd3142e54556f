"""School-door passes (``school_passes``), the derived pupil-days (``attendance``) and unknown faces.

What the door says about a temperature (source ``sensor``/``synthetic``, 1-sigma uncertainty, its fever threshold,
the blackbody correction) sits beside the pass in ``pass_thermal``; the label of a day's highest temperature beside
the day in ``attendance_thermal`` (migration 120), so a stored synthetic temperature is never unlabelled.

The dashboard's day views are read here too, so the page, its live feed and the CSV export run the same queries.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from backend.store.dialect import IN_LIST_CHUNK, scalars


@dataclass(frozen=True, slots=True)
class PassRow:
    """One entry event of a known pupil at their school's door."""

    event_id: str
    school_id: str
    pupil_id: str
    day: str
    captured_at: str
    direction: str
    temperature_c: float | None
    temperature_source: str | None = None
    temperature_sigma_c: float | None = None
    fever_threshold_c: float | None = None
    blackbody_offset_c: float | None = None


@dataclass(frozen=True, slots=True)
class PassThermal:
    """What the door said about a pass's temperature."""

    temperature_source: str | None
    temperature_sigma_c: float | None
    fever_threshold_c: float | None


@dataclass(frozen=True, slots=True)
class DayRow:
    """The derived attendance of one pupil on one day, as stored."""

    pupil_id: str
    day: str
    school_id: str
    state: str
    first_in: str | None
    last_out: str | None
    late: bool
    feverish: bool
    max_temperature_c: float | None
    passes: int
    temperature: PassThermal | None = None  # the label of max_temperature_c


@dataclass(frozen=True, slots=True)
class UnknownRow:
    """An unknown face seen at a school door."""

    event_id: str
    school_id: str
    day: str
    captured_at: str
    camera_id: str
    snapshot_sha256: str | None


@dataclass(frozen=True, slots=True)
class PupilDayLine:
    """A pupil of the school with the day's attendance (``absent`` and not late when no event)."""

    pupil_id: str
    name: str
    class_name: str | None
    state: str
    first_in: str | None
    last_out: str | None
    late: bool
    feverish: bool
    max_temperature_c: float | None
    temperature_source: str | None = None
    temperature_sigma_c: float | None = None
    fever_threshold_c: float | None = None


@dataclass(frozen=True, slots=True)
class ClassDayLine:
    """Pupils of a class and how many of them entered on the day."""

    class_id: str
    name: str
    pupils: int
    present: int


def insert_pass(conn: sqlite3.Connection, row: PassRow) -> None:
    """Store a pass (a replayed event is stored once)."""
    insert_passes(conn, [row])


def insert_passes(conn: sqlite3.Connection, rows: Sequence[PassRow]) -> None:
    """Store a batch of passes, two statements for the whole batch (a replayed event is stored once)."""
    conn.executemany(
        "INSERT INTO school_passes(event_id, school_id, pupil_id, day, captured_at, direction, temperature_c)"
        " VALUES (:event_id, :school_id, :pupil_id, :day, :captured_at, :direction, :temperature_c)"
        " ON CONFLICT DO NOTHING",
        [{"event_id": r.event_id, "school_id": r.school_id, "pupil_id": r.pupil_id, "day": r.day,
          "captured_at": r.captured_at, "direction": r.direction, "temperature_c": r.temperature_c} for r in rows],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO pass_thermal(event_id, temperature_source, temperature_sigma_c, fever_threshold_c,"
        " blackbody_offset_c) VALUES (:event_id, :source, :sigma, :threshold, :offset) ON CONFLICT DO NOTHING",
        [{"event_id": r.event_id, "source": r.temperature_source, "sigma": r.temperature_sigma_c,
          "threshold": r.fever_threshold_c, "offset": r.blackbody_offset_c}
         for r in rows if r.temperature_source is not None or r.fever_threshold_c is not None],
    )  # fmt: skip


def schools_of_pupils(conn: sqlite3.Connection, pupil_ids: Sequence[str]) -> dict[str, str]:
    """The school of each of ``pupil_ids`` that is enrolled anywhere (one ``IN`` query per 500 ids)."""
    found: dict[str, str] = {}
    for start in range(0, len(pupil_ids), IN_LIST_CHUNK):
        chunk = {f"k{i}": p for i, p in enumerate(pupil_ids[start : start + IN_LIST_CHUNK])}
        marks = ", ".join(f":{k}" for k in chunk)
        rows = conn.execute(f"SELECT pupil_id, school_id FROM pupils WHERE pupil_id IN ({marks})", chunk)
        found.update((str(r[0]), str(r[1])) for r in rows)
    return found


def thermal_of_day(conn: sqlite3.Connection, pupil_id: str, day: str) -> dict[str, PassThermal]:
    """What the door said about each temperature of a pupil-day, by event id (passes without it are absent)."""
    rows = conn.execute(
        "SELECT t.event_id, t.temperature_source, t.temperature_sigma_c, t.fever_threshold_c FROM pass_thermal t"
        " JOIN school_passes s ON s.event_id = t.event_id WHERE s.pupil_id = :pupil_id AND s.day = :day",
        {"pupil_id": pupil_id, "day": day},
    )
    return {r[0]: PassThermal(r[1], r[2], r[3]) for r in rows}


def passes_of_day(conn: sqlite3.Connection, pupil_id: str, day: str) -> list[tuple[str, str, str, float | None]]:
    """(event_id, captured_at, direction, temperature_c) of every pass of a pupil-day, unordered."""
    rows = conn.execute(
        "SELECT event_id, captured_at, direction, temperature_c FROM school_passes"
        " WHERE pupil_id = :pupil_id AND day = :day",
        {"pupil_id": pupil_id, "day": day},
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def mark_new_passes(conn: sqlite3.Connection, pupil_id: str, day: str, new_ids: Collection[str]) -> None:
    """Set ``new_pass`` of every pass of the pupil-day: 1 for ``new_ids``, 0 for the others, in one statement that
    writes only the rows whose flag changes."""
    marks = {f"n{i}": event_id for i, event_id in enumerate(sorted(new_ids))}
    is_new = f"CASE WHEN event_id IN ({', '.join(f':{k}' for k in marks)}) THEN 1 ELSE 0 END" if marks else "0"
    conn.execute(
        f"UPDATE school_passes SET new_pass = {is_new}"
        f" WHERE pupil_id = :pupil_id AND day = :day AND new_pass <> {is_new}",
        {**marks, "pupil_id": pupil_id, "day": day},
    )


def recent_passes(conn: sqlite3.Connection, pupil_id: str, since_day: str) -> list[tuple[str, str, str]]:
    """(day, captured_at, direction) of the pupil's new entries and exits from ``since_day`` on, newest first."""
    rows = conn.execute(
        "SELECT day, captured_at, direction FROM school_passes WHERE pupil_id = :pupil_id AND new_pass = 1"
        " AND direction IN ('entered', 'left') AND day >= :since ORDER BY captured_at DESC",
        {"pupil_id": pupil_id, "since": since_day},
    )
    return [(r[0], r[1], r[2]) for r in rows]


def pass_event_ids(conn: sqlite3.Connection, pupil_id: str) -> list[str]:
    """Event ids of every pass of the pupil."""
    sql = "SELECT event_id FROM school_passes WHERE pupil_id = :pupil_id"
    return scalars(conn.execute(sql, {"pupil_id": pupil_id}))


def class_start(conn: sqlite3.Connection, pupil_id: str) -> tuple[str, str | None]:
    """(school_id, start time of the pupil's class or None) of a stored pupil."""
    row = conn.execute(
        "SELECT p.school_id, c.start_time FROM pupils p LEFT JOIN classes c ON c.class_id = p.class_id"
        " WHERE p.pupil_id = :pupil_id",
        {"pupil_id": pupil_id},
    ).fetchone()
    return row[0], row[1]


def save_day(conn: sqlite3.Connection, row: DayRow) -> None:
    """Store (or replace) a derived pupil-day."""
    conn.execute(
        "INSERT INTO attendance(pupil_id, day, school_id, state, first_in, last_out, late, feverish,"
        " max_temperature_c, passes) VALUES (:pupil_id, :day, :school_id, :state, :first_in, :last_out, :late,"
        " :feverish, :max_temperature_c, :passes) ON CONFLICT(pupil_id, day) DO UPDATE SET state = excluded.state,"
        " first_in = excluded.first_in, last_out = excluded.last_out, late = excluded.late,"
        " feverish = excluded.feverish, max_temperature_c = excluded.max_temperature_c, passes = excluded.passes",
        {"pupil_id": row.pupil_id, "day": row.day, "school_id": row.school_id, "state": row.state,
         "first_in": row.first_in, "last_out": row.last_out, "late": int(row.late), "feverish": int(row.feverish),
         "max_temperature_c": row.max_temperature_c, "passes": row.passes},
    )  # fmt: skip
    label = row.temperature
    if row.max_temperature_c is None or label is None or label.temperature_source not in ("sensor", "synthetic"):
        conn.execute(
            "DELETE FROM attendance_thermal WHERE pupil_id = :pupil_id AND day = :day",
            {"pupil_id": row.pupil_id, "day": row.day},
        )
        return
    conn.execute(
        "INSERT INTO attendance_thermal(pupil_id, day, temperature_source, temperature_sigma_c, fever_threshold_c)"
        " VALUES (:pupil_id, :day, :source, :sigma, :threshold) ON CONFLICT(pupil_id, day) DO UPDATE SET"
        " temperature_source = excluded.temperature_source, temperature_sigma_c = excluded.temperature_sigma_c,"
        " fever_threshold_c = excluded.fever_threshold_c",
        {"pupil_id": row.pupil_id, "day": row.day, "source": label.temperature_source,
         "sigma": label.temperature_sigma_c, "threshold": label.fever_threshold_c},
    )  # fmt: skip


def delete_days(conn: sqlite3.Connection, pupil_id: str) -> None:
    """Delete every derived day of the pupil (and the labels of its temperatures)."""
    conn.execute("DELETE FROM attendance WHERE pupil_id = :pupil_id", {"pupil_id": pupil_id})
    conn.execute("DELETE FROM attendance_thermal WHERE pupil_id = :pupil_id", {"pupil_id": pupil_id})


def pupil_days(conn: sqlite3.Connection, school_id: str, day: str) -> list[PupilDayLine]:
    """Every pupil of the school with the day's attendance, ordered by class then name."""
    rows = conn.execute(
        "SELECT p.pupil_id, p.name, c.name, COALESCE(a.state, 'absent'), a.first_in, a.last_out,"
        " COALESCE(a.late, 0), COALESCE(a.feverish, 0), a.max_temperature_c, t.temperature_source,"
        " t.temperature_sigma_c, t.fever_threshold_c FROM pupils p"
        " LEFT JOIN classes c ON c.class_id = p.class_id"
        " LEFT JOIN attendance a ON a.pupil_id = p.pupil_id AND a.day = :day"
        " LEFT JOIN attendance_thermal t ON t.pupil_id = p.pupil_id AND t.day = :day"
        " WHERE p.school_id = :school_id ORDER BY c.name NULLS FIRST, p.name",
        {"day": day, "school_id": school_id},
    )
    return [
        PupilDayLine(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), bool(r[7]), r[8], r[9], r[10], r[11]) for r in rows
    ]


def class_days(conn: sqlite3.Connection, school_id: str, day: str) -> list[ClassDayLine]:
    """Per class of the school: its pupils and how many entered on ``day``, by class name."""
    rows = conn.execute(
        "SELECT c.class_id, c.name, COUNT(p.pupil_id), COUNT(a.first_in) FROM classes c"
        " LEFT JOIN pupils p ON p.class_id = c.class_id"
        " LEFT JOIN attendance a ON a.pupil_id = p.pupil_id AND a.day = :day"
        " WHERE c.school_id = :school_id GROUP BY c.class_id, c.name ORDER BY c.name",
        {"day": day, "school_id": school_id},
    )
    return [ClassDayLine(r[0], r[1], int(r[2]), int(r[3])) for r in rows]


def month_marks(conn: sqlite3.Connection, school_id: str, month: str) -> list[tuple[str, str, bool]]:
    """(pupil_id, day, late) of every day of ``month`` (YYYY-MM) a pupil of the school entered."""
    rows = conn.execute(
        "SELECT pupil_id, day, late FROM attendance WHERE school_id = :school_id AND day LIKE :pattern"
        " AND first_in IS NOT NULL",
        {"school_id": school_id, "pattern": f"{month}-%"},
    )
    return [(r[0], r[1], bool(r[2])) for r in rows]


def insert_unknown(conn: sqlite3.Connection, row: UnknownRow) -> None:
    """Store an unknown face (a replayed event is stored once)."""
    insert_unknowns(conn, [row])


def insert_unknowns(conn: sqlite3.Connection, rows: Sequence[UnknownRow]) -> None:
    """Store a batch of unknown faces in one statement (a replayed event is stored once)."""
    conn.executemany(
        "INSERT INTO unknown_faces(event_id, school_id, day, captured_at, camera_id, snapshot_sha256)"
        " VALUES (:event_id, :school_id, :day, :captured_at, :camera_id, :snapshot) ON CONFLICT DO NOTHING",
        [{"event_id": r.event_id, "school_id": r.school_id, "day": r.day, "captured_at": r.captured_at,
          "camera_id": r.camera_id, "snapshot": r.snapshot_sha256} for r in rows],
    )  # fmt: skip


def unknown_times(conn: sqlite3.Connection, camera_id: str, start: str, end: str) -> list[str]:
    """Capture times of the unknown faces the camera saw in ``[start, end)``, ascending (index
    ``unknown_faces_camera_time``)."""
    rows = conn.execute(
        "SELECT captured_at FROM unknown_faces WHERE camera_id = :camera_id AND captured_at >= :start"
        " AND captured_at < :end ORDER BY captured_at",
        {"camera_id": camera_id, "start": start, "end": end},
    )
    return [str(r[0]) for r in rows]


def unknown_seen_between(conn: sqlite3.Connection, camera_id: str, start: str, end: str) -> bool:
    """Whether the camera saw an unknown face captured in ``[start, end)``."""
    row = conn.execute(
        "SELECT 1 FROM unknown_faces WHERE camera_id = :camera_id AND captured_at >= :start AND captured_at < :end"
        " LIMIT 1",
        {"camera_id": camera_id, "start": start, "end": end},
    ).fetchone()
    return row is not None


def unknown_of_day(conn: sqlite3.Connection, school_id: str, day: str, limit: int = 100) -> list[UnknownRow]:
    """The school's unknown faces of ``day``, newest first."""
    rows = conn.execute(
        "SELECT event_id, school_id, day, captured_at, camera_id, snapshot_sha256 FROM unknown_faces"
        " WHERE school_id = :school_id AND day = :day ORDER BY captured_at DESC LIMIT :limit",
        {"school_id": school_id, "day": day, "limit": limit},
    )
    return [UnknownRow(*r) for r in rows]


def unknown_snapshot(conn: sqlite3.Connection, school_id: str, event_id: str) -> tuple[str, str] | None:
    """(sha256, media type) of the snapshot of an unknown face at this school, or None (none or purged)."""
    row = conn.execute(
        "SELECT u.snapshot_sha256, m.media_type FROM unknown_faces u JOIN media m ON m.sha256 = u.snapshot_sha256"
        " WHERE u.event_id = :event_id AND u.school_id = :school_id",
        {"event_id": event_id, "school_id": school_id},
    ).fetchone()
    return None if row is None else (row[0], row[1])
