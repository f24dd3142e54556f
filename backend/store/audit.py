"""The audit log read back: who viewed, exported or changed whose data."""

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
