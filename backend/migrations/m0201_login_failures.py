"""Failed logins per user name, for throttling password guessing."""

from __future__ import annotations

import sqlite_utils

VERSION = 201


def apply(db: sqlite_utils.Database) -> None:
    """Create the login_failures table."""
    db.execute("CREATE TABLE login_failures (username TEXT NOT NULL, at TEXT NOT NULL)")
    db.execute("CREATE INDEX login_failures_user ON login_failures(username, at)")
