"""Per-camera per-minute vehicle counts and speed statistics (the broker's aggregator writes them), and the
high-water mark of each stream consumer, committed with the counts so a redelivered message is not counted twice.

Portable DDL: one row per (camera, UTC minute ``YYYY-MM-DDTHH:MM``); speed statistics as count, sum, sum of squares,
min and max, so means and deviations of any window are sums of rows.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 50


def apply(db: sqlite_utils.Database) -> None:
    """Create vehicle_minutes and broker_offsets."""
    db.execute(
        "CREATE TABLE vehicle_minutes (camera_id TEXT NOT NULL, minute TEXT NOT NULL, vehicles INTEGER NOT NULL,"
        " with_speed INTEGER NOT NULL, speed_sum REAL NOT NULL, speed_sq_sum REAL NOT NULL, speed_min REAL,"
        " speed_max REAL, PRIMARY KEY (camera_id, minute))"
    )
    db.execute("CREATE INDEX vehicle_minutes_minute ON vehicle_minutes(minute)")
    db.execute(
        "CREATE TABLE broker_offsets (consumer TEXT PRIMARY KEY, stream_seq INTEGER NOT NULL, updated_at TEXT NOT NULL)"
    )
