"""Devices, events, attachments: the platform tables."""

from __future__ import annotations

import sqlite_utils

VERSION = 1


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
