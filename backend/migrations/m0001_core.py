"""Devices, events, attachments: the platform tables."""

from __future__ import annotations

import sqlite_utils

from backend.store.dialect import is_postgres

VERSION = 1

EVENTS_POSTGRES = (
    "CREATE TABLE event_ids (event_id TEXT PRIMARY KEY, day TEXT NOT NULL)",
    "CREATE INDEX event_ids_day ON event_ids(day)",
    """CREATE TABLE events (
        event_id TEXT NOT NULL,
        day TEXT NOT NULL,
        kind TEXT NOT NULL,
        camera_id TEXT NOT NULL REFERENCES devices(camera_id),
        captured_at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        schema_version INTEGER NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (event_id, day)
    ) PARTITION BY RANGE (day)""",
)
"""PostgreSQL: events partitioned by UTC capture day (``YYYY-MM-DD``; one partition per day, created by ingest,
dropped whole by retention), so the key includes ``day``; ``event_ids`` keeps each id once across partitions (the
idempotency check) and is what rows about an event reference (``REFERENCES events(event_id)`` in a migration is
pointed there by ``backend.store.postgres.translate_ddl``)."""


def apply(db: sqlite_utils.Database) -> None:
    """Create the platform tables."""
    db.execute(
        """CREATE TABLE devices (
            camera_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('school', 'traffic')),
            site TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            key_id TEXT NOT NULL UNIQUE,
            key_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            revoked_at TEXT,
            last_seen_at TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE media (
            sha256 TEXT PRIMARY KEY,
            media_type TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            camera_id TEXT NOT NULL REFERENCES devices(camera_id),
            stored_at TEXT NOT NULL
        )"""
    )
    if is_postgres(db.conn):
        for statement in EVENTS_POSTGRES:
            db.execute(statement)
    else:
        db.execute(
            """CREATE TABLE events (
                event_id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                camera_id TEXT NOT NULL REFERENCES devices(camera_id),
                captured_at TEXT NOT NULL,
                received_at TEXT NOT NULL,
                schema_version INTEGER NOT NULL,
                payload TEXT NOT NULL
            )"""
        )
    db.execute("CREATE INDEX events_camera_time ON events(camera_id, captured_at)")
    db.execute("CREATE INDEX events_kind_time ON events(kind, captured_at)")
    db.execute(
        """CREATE TABLE event_attachments (
            event_id TEXT NOT NULL REFERENCES events(event_id) ON DELETE CASCADE,
            sha256 TEXT NOT NULL REFERENCES media(sha256),
            role TEXT NOT NULL,
            PRIMARY KEY (event_id, sha256, role)
        )"""
    )
