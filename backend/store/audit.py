"""The school audit log: who viewed, exported or changed whose data, written and read back here only."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One audit record."""

    at: str
    actor: str
    role: str
    action: str
    subject: str


def recent(conn: sqlite3.Connection, school_id: str, limit: int) -> list[AuditRow]:
    """The school's latest ``limit`` audit records, newest first."""
    rows = conn.execute(
        "SELECT at, actor, role, action, subject FROM audit_log WHERE school_id = :school_id"
        " ORDER BY audit_id DESC LIMIT :limit",
        {"school_id": school_id, "limit": limit},
    )
    return [AuditRow(*r) for r in rows]


def recently_done(conn: sqlite3.Connection, actor: str, action: str, subject: str, since: str) -> bool:
    """Whether the school audit log has this actor doing this action to this subject after ``since``."""
    row = conn.execute(
        "SELECT 1 FROM audit_log WHERE actor = :actor AND action = :action AND subject = :subject AND at > :since"
        " LIMIT 1",
        {"actor": actor, "action": action, "subject": subject, "since": since},
    ).fetchone()
    return row is not None


def add(
    conn: sqlite3.Connection, at: str, actor: tuple[str, str], school_id: str | None, action: str, subject: str
) -> None:
    """One row of the school audit log; ``actor`` is (user id, role)."""
    conn.execute(
        "INSERT INTO audit_log(at, actor, role, school_id, action, subject)"
        " VALUES (:at, :actor, :role, :school_id, :action, :subject)",
        {"at": at, "actor": actor[0], "role": actor[1], "school_id": school_id, "action": action, "subject": subject},
    )
