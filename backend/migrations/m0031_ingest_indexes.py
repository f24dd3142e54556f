"""Indexes the set-based ingest handlers look up by: unknown faces of a camera by capture time (the staff alert's
debounce asked it once per event with a full scan, ~1 ms per event on 5,000 stored faces).

``unknown_faces`` is created by migration 200, after this one on a fresh database: there 200 creates the index with
the table, and this migration adds it to databases migrated before it existed.
"""

from __future__ import annotations

import sqlite_utils

from backend.store.dialect import table_exists

VERSION = 31


def apply(db: sqlite_utils.Database) -> None:
    """Index ``unknown_faces(camera_id, captured_at)`` where the table exists."""
    if table_exists(db.conn, "unknown_faces"):
        db.execute("CREATE INDEX IF NOT EXISTS unknown_faces_camera_time ON unknown_faces(camera_id, captured_at)")
