"""School service: schools, classes, pupils, guardians, users and sessions, consent, encrypted templates, the
gallery change log, attendance derived from entry events, unknown faces and the audit log."""

from __future__ import annotations

import sqlite_utils

VERSION = 200

TABLES = (
    """CREATE TABLE schools (
        school_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE classes (
        class_id TEXT PRIMARY KEY,
        school_id TEXT NOT NULL REFERENCES schools(school_id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        start_time TEXT NOT NULL
    )""",
    """CREATE TABLE pupils (
        pupil_id TEXT PRIMARY KEY,
        school_id TEXT NOT NULL REFERENCES schools(school_id) ON DELETE CASCADE,
        class_id TEXT REFERENCES classes(class_id) ON DELETE SET NULL,
        name TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE consents (
        pupil_id TEXT PRIMARY KEY REFERENCES pupils(pupil_id) ON DELETE CASCADE,
        granted INTEGER NOT NULL,
        given_by TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        recorded_at TEXT NOT NULL
    )""",
    """CREATE TABLE guardians (
        guardian_id TEXT PRIMARY KEY,
        school_id TEXT NOT NULL REFERENCES schools(school_id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        language TEXT NOT NULL CHECK (language IN ('kk', 'ru', 'en')),
        channel TEXT NOT NULL CHECK (channel IN ('email', 'telegram', 'sms')),
        address TEXT NOT NULL
    )""",
    """CREATE TABLE guardian_pupils (
        guardian_id TEXT NOT NULL REFERENCES guardians(guardian_id) ON DELETE CASCADE,
        pupil_id TEXT NOT NULL REFERENCES pupils(pupil_id) ON DELETE CASCADE,
        PRIMARY KEY (guardian_id, pupil_id)
    )""",
    """CREATE TABLE users (
        user_id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('school_admin', 'staff', 'guardian')),
        school_id TEXT NOT NULL REFERENCES schools(school_id) ON DELETE CASCADE,
        guardian_id TEXT REFERENCES guardians(guardian_id) ON DELETE CASCADE,
        email TEXT,
        language TEXT NOT NULL DEFAULT 'ru',
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )""",
    """CREATE TABLE face_templates (
        template_id TEXT PRIMARY KEY,
        pupil_id TEXT NOT NULL REFERENCES pupils(pupil_id) ON DELETE CASCADE,
        school_id TEXT NOT NULL,
        model TEXT NOT NULL,
        nonce BLOB NOT NULL,
        ciphertext BLOB NOT NULL,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE face_thumbnails (
        pupil_id TEXT PRIMARY KEY REFERENCES pupils(pupil_id) ON DELETE CASCADE,
        nonce BLOB NOT NULL,
        ciphertext BLOB NOT NULL
    )""",
    """CREATE TABLE gallery_changes (
        school_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        template_id TEXT NOT NULL,
        op TEXT NOT NULL CHECK (op IN ('add', 'remove')),
        PRIMARY KEY (school_id, version, template_id)
    )""",
    """CREATE TABLE gallery_versions (
        school_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL
    )""",
    """CREATE TABLE school_passes (
        event_id TEXT PRIMARY KEY REFERENCES events(event_id) ON DELETE CASCADE,
        school_id TEXT NOT NULL,
        pupil_id TEXT NOT NULL,
        day TEXT NOT NULL,
        captured_at TEXT NOT NULL,
        direction TEXT NOT NULL,
        temperature_c REAL,
        new_pass INTEGER NOT NULL DEFAULT 1
    )""",
    "CREATE INDEX school_passes_pupil_day ON school_passes(pupil_id, day, captured_at)",
    "CREATE INDEX school_passes_school_day ON school_passes(school_id, day)",
    """CREATE TABLE attendance (
        pupil_id TEXT NOT NULL,
        day TEXT NOT NULL,
        school_id TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('inside', 'left', 'absent')),
        first_in TEXT,
        last_out TEXT,
        late INTEGER NOT NULL,
        feverish INTEGER NOT NULL,
        max_temperature_c REAL,
        passes INTEGER NOT NULL,
        PRIMARY KEY (pupil_id, day)
    )""",
    "CREATE INDEX attendance_school_day ON attendance(school_id, day)",
    """CREATE TABLE unknown_faces (
        event_id TEXT PRIMARY KEY REFERENCES events(event_id) ON DELETE CASCADE,
        school_id TEXT NOT NULL,
        day TEXT NOT NULL,
        captured_at TEXT NOT NULL,
        camera_id TEXT NOT NULL,
        snapshot_sha256 TEXT
    )""",
    "CREATE INDEX unknown_faces_school_day ON unknown_faces(school_id, day)",
    "CREATE INDEX IF NOT EXISTS unknown_faces_camera_time ON unknown_faces(camera_id, captured_at)",  # see m0031
    """CREATE TABLE audit_log (
        audit_id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        role TEXT NOT NULL,
        school_id TEXT,
        action TEXT NOT NULL,
        subject TEXT NOT NULL
    )""",
    "CREATE INDEX audit_school ON audit_log(school_id, at)",
)


def apply(db: sqlite_utils.Database) -> None:
    """Create the school service tables."""
    for statement in TABLES:
        db.execute(statement)
