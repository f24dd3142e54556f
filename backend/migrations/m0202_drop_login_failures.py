"""Drop ``login_failures``: the throttle counts ``login_attempts`` (migration 20) before a password is checked, and
prunes them itself; nothing reads or writes the old per-name failure table any more."""

from __future__ import annotations

import sqlite_utils

VERSION = 202


def apply(db: sqlite_utils.Database) -> None:
    """Drop the unused table."""
    db.execute("DROP TABLE IF EXISTS login_failures")
