"""Traffic violations: the review queue, evidence files by role, the review state and its audit rows.

``violations`` has one row per ingested ViolationEvent (``violation_id`` is the event id); ``violation_files`` its
evidence by role; ``violation_audit`` who viewed or decided what. Camera evidence keys are registered with the
device (``backend.store.devices``); anchored chain heads are in ``backend.store.evidence``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields


@dataclass(frozen=True, slots=True)
class ViolationRecord:
    """One stored violation as the review API and pages show it."""

    violation_id: str
    camera_id: str
    district: str
    kind: str
    vehicle_class: str
    track_id: int
    captured_at: str
    clock_source: str
    received_at: str
    location: str | None
    speed_kmh: float | None
    signal_state: str | None
    signal_source: str | None
    plate_raw: str | None
    plate_read: str | None
    plate_corrected: str | None
    evidence_sha256: str | None
    evidence_status: str
    state: str
    reject_reason: str | None
    decided_by: str | None
    decided_at: str | None

    @property
    def plate(self) -> str | None:
        """The plate to act on: the operator's correction, else the camera's normalised read."""
        return self.plate_corrected or self.plate_read


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """One evidence file of a violation."""

    role: str
    sha256: str
    media_type: str


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One review action: who (user id, name, district) did what to which violation, when, with what detail."""

    at: str
    operator_id: str
    username: str
    district: str
    action: str
    violation_id: str
    detail: str


_NAMES = tuple(f.name for f in fields(ViolationRecord))
_COLUMNS = ", ".join(_NAMES)


def insert(conn: sqlite3.Connection, record: ViolationRecord, files: Sequence[EvidenceFile]) -> None:
    """Store a violation and its evidence files (a replayed one is left as it is)."""
    marks = ", ".join(f":{n}" for n in _NAMES)
    conn.execute(
        f"INSERT INTO violations({_COLUMNS}) VALUES ({marks}) ON CONFLICT DO NOTHING",
        dict(zip(_NAMES, astuple(record), strict=True)),
    )
    conn.executemany(
        "INSERT INTO violation_files(violation_id, role, sha256, media_type)"
        " VALUES (:violation_id, :role, :sha256, :media_type) ON CONFLICT DO NOTHING",
        [
            {"violation_id": record.violation_id, "role": f.role, "sha256": f.sha256, "media_type": f.media_type}
            for f in files
        ],
    )


def in_district(
    conn: sqlite3.Connection, district: str, states: Sequence[str], limit: int, newest_first: bool
) -> list[ViolationRecord]:
    """Violations of one district in the given states, by capture time (oldest first unless ``newest_first``)."""
    names = [f"s{i}" for i in range(len(states))]
    order = "DESC" if newest_first else "ASC"
    marks = ", ".join(f":{n}" for n in names)
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM violations WHERE district = :district AND state IN ({marks})"
        f" ORDER BY captured_at {order}, violation_id {order} LIMIT :limit",
        {"district": district, "limit": limit, **dict(zip(names, states, strict=True))},
    )
    return [ViolationRecord(*r) for r in rows]


def get(conn: sqlite3.Connection, violation_id: str) -> ViolationRecord | None:
    """One violation, or None."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM violations WHERE violation_id = :v", {"v": violation_id}).fetchone()
    return None if row is None else ViolationRecord(*row)


def evidence_files(conn: sqlite3.Connection, violation_id: str) -> list[EvidenceFile]:
    """The evidence files of a violation, by role."""
    rows = conn.execute(
        "SELECT role, sha256, media_type FROM violation_files WHERE violation_id = :v ORDER BY role",
        {"v": violation_id},
    )
    return [EvidenceFile(*r) for r in rows]


def evidence_media_type(conn: sqlite3.Connection, violation_id: str, sha256: str) -> str | None:
    """The media type of ``sha256`` when it is evidence of this violation, else None."""
    row = conn.execute(
        "SELECT media_type FROM violation_files WHERE violation_id = :v AND sha256 = :sha256",
        {"v": violation_id, "sha256": sha256},
    ).fetchone()
    return None if row is None else str(row[0])


def decide(
    conn: sqlite3.Connection, violation_id: str, district: str, verdict: tuple[str, str | None], by: tuple[str, str]
) -> bool:
    """Move a queued violation of ``district`` to ``verdict`` = (state, reason), ``by`` = (user id, time).

    Returns:
        False when it is not queued in that district (nothing changed).
    """
    cursor = conn.execute(
        "UPDATE violations SET state = :state, reject_reason = :reason, decided_by = :by, decided_at = :at"
        " WHERE violation_id = :v AND district = :district AND state = 'queued'",
        {"state": verdict[0], "reason": verdict[1], "by": by[0], "at": by[1], "v": violation_id, "district": district},
    )
    return cursor.rowcount == 1


def set_plate(conn: sqlite3.Connection, violation_id: str, plate: str) -> None:
    """Store the operator's plate correction (the camera's read stays)."""
    conn.execute(
        "UPDATE violations SET plate_corrected = :plate WHERE violation_id = :v", {"plate": plate, "v": violation_id}
    )


def add_audit(conn: sqlite3.Connection, row: AuditRow) -> None:
    """Append one review action to the audit trail."""
    conn.execute(
        "INSERT INTO violation_audit(at, operator_id, username, district, action, violation_id, detail)"
        " VALUES (:at, :operator_id, :username, :district, :action, :violation_id, :detail)",
        {f.name: getattr(row, f.name) for f in fields(AuditRow)},
    )


def audit_trail(conn: sqlite3.Connection, violation_id: str) -> list[dict[str, str]]:
    """Audit rows of one violation, oldest first: at, username, district, action, detail."""
    rows = conn.execute(
        "SELECT at, username, district, action, detail FROM violation_audit WHERE violation_id = :v ORDER BY audit_id",
        {"v": violation_id},
    )
    return [dict(zip(("at", "username", "district", "action", "detail"), r, strict=True)) for r in rows]
