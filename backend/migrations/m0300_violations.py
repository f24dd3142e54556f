"""Traffic violations: district operators and their sessions, the review queue and its audit trail.

Operators live in their own table (not ``users``): a user there belongs to a school, an operator to a traffic
district (the ``site`` of the district's traffic cameras), and the two never share a session.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 300

TABLES = (
    """CREATE TABLE operators (
        operator_id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        district TEXT NOT NULL,
        created_at TEXT NOT NULL,
        disabled_at TEXT
    )""",
    """CREATE TABLE operator_sessions (
        token_hash TEXT PRIMARY KEY,
        operator_id TEXT NOT NULL REFERENCES operators(operator_id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )""",
    """CREATE TABLE violations (
        violation_id TEXT PRIMARY KEY REFERENCES events(event_id) ON DELETE CASCADE,
        camera_id TEXT NOT NULL REFERENCES devices(camera_id),
        district TEXT NOT NULL,
        kind TEXT NOT NULL,
        vehicle_class TEXT NOT NULL,
        track_id INTEGER NOT NULL,
        captured_at TEXT NOT NULL,
        clock_source TEXT NOT NULL,
        received_at TEXT NOT NULL,
        location TEXT,
        speed_kmh REAL,
        signal_state TEXT,
        signal_source TEXT,
        plate_raw TEXT,
        plate_read TEXT,
        plate_corrected TEXT,
        evidence_sha256 TEXT,
        evidence_status TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'confirmed', 'rejected')),
        reject_reason TEXT,
        decided_by TEXT REFERENCES operators(operator_id),
        decided_at TEXT
    )""",
    "CREATE INDEX violations_queue ON violations(district, state, captured_at)",
    """CREATE TABLE violation_files (
        violation_id TEXT NOT NULL REFERENCES violations(violation_id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        sha256 TEXT NOT NULL REFERENCES media(sha256),
        media_type TEXT NOT NULL,
        PRIMARY KEY (violation_id, role)
    )""",
    """CREATE TABLE violation_audit (
        audit_id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        operator_id TEXT NOT NULL,
        username TEXT NOT NULL,
        district TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('view', 'confirm', 'reject', 'correct_plate')),
        violation_id TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX violation_audit_subject ON violation_audit(violation_id, at)",
)


def apply(db: sqlite_utils.Database) -> None:
    """Create the operator, violation and audit tables."""
    for statement in TABLES:
        db.execute(statement)
