"""School entry: what a door says about each temperature (source, uncertainty, its fever threshold, drift
correction) and the label of each pupil-day's highest temperature.

Side tables keyed like their rows, not new columns: this range (120-129) runs before the school service's
migration 200 that creates ``school_passes`` and ``attendance`` on a fresh database, so it cannot alter them;
``pass_thermal`` hangs off ``events`` (version 1) and goes with the event.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 120

TABLES = (
    """CREATE TABLE pass_thermal (
        event_id TEXT PRIMARY KEY REFERENCES events(event_id) ON DELETE CASCADE,
        temperature_source TEXT CHECK (temperature_source IN ('sensor', 'synthetic', 'none')),
        temperature_sigma_c REAL,
        fever_threshold_c REAL,
        blackbody_offset_c REAL
    )""",
    """CREATE TABLE attendance_thermal (
        pupil_id TEXT NOT NULL,
        day TEXT NOT NULL,
        temperature_source TEXT CHECK (temperature_source IN ('sensor', 'synthetic')),
        temperature_sigma_c REAL,
        fever_threshold_c REAL,
        PRIMARY KEY (pupil_id, day)
    )""",
)


def apply(db: sqlite_utils.Database) -> None:
    """Create the thermal side tables."""
    for statement in TABLES:
        db.execute(statement)
