"""Evidence signing keys pinned per traffic camera (trust on first use; the platform admin can re-pin)."""

from __future__ import annotations

import sqlite_utils

VERSION = 301


def apply(db: sqlite_utils.Database) -> None:
    """Create the pinned-key table."""
    db.execute(
        """CREATE TABLE evidence_keys (
            camera_id TEXT PRIMARY KEY REFERENCES devices(camera_id) ON DELETE CASCADE,
            public_key TEXT NOT NULL,
            pinned_at TEXT NOT NULL,
            first_violation_id TEXT NOT NULL
        )"""
    )
