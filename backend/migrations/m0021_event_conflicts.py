"""Event id conflicts: an event id re-sent with different content is refused (409) and recorded here, never dropped.

One row per refused copy: the id, the camera that sent it, when, the SHA-256 of the stored and of the offered
payload and the offered payload itself (so an operator can see what the device meant).
"""

from __future__ import annotations

import sqlite_utils

VERSION = 21


def apply(db: sqlite_utils.Database) -> None:
    """Create the event_conflicts table."""
    db.execute(
        "CREATE TABLE event_conflicts (conflict_id INTEGER PRIMARY KEY, event_id TEXT NOT NULL,"
        " camera_id TEXT NOT NULL, received_at TEXT NOT NULL, stored_sha256 TEXT, offered_sha256 TEXT NOT NULL,"
        " offered_payload TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX event_conflicts_event ON event_conflicts(event_id)")
