"""Camera health: the current state of every camera and the history of its changes (``CameraHealthEvent``).

``camera_health`` holds one row per camera: the newest change in capture order (``captured_at``, then event id), so
a late replay of an older change never overwrites a newer state. ``camera_health_history`` keeps every change event
once (keyed by its event id). ``active`` and ``measures`` are JSON text.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 2


def apply(db: sqlite_utils.Database) -> None:
    """Create the camera health tables."""
    db.execute(
        """CREATE TABLE camera_health (
            camera_id TEXT PRIMARY KEY REFERENCES devices(camera_id) ON DELETE CASCADE,
            state TEXT NOT NULL,
            active TEXT NOT NULL DEFAULT '[]',
            previous TEXT NOT NULL,
            since TEXT NOT NULL,
            captured_at TEXT NOT NULL,
            event_id TEXT NOT NULL,
            measures TEXT NOT NULL DEFAULT '{}',
            message TEXT NOT NULL DEFAULT '',
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE camera_health_history (
            event_id TEXT PRIMARY KEY REFERENCES events(event_id) ON DELETE CASCADE,
            camera_id TEXT NOT NULL REFERENCES devices(camera_id) ON DELETE CASCADE,
            state TEXT NOT NULL,
            active TEXT NOT NULL DEFAULT '[]',
            previous TEXT NOT NULL,
            since TEXT NOT NULL,
            captured_at TEXT NOT NULL,
            measures TEXT NOT NULL DEFAULT '{}',
            message TEXT NOT NULL DEFAULT '',
            received_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX camera_health_history_camera_time ON camera_health_history(camera_id, captured_at)")
