"""Login attempts per client and user name, reserved before a password is checked (the throttle's atomic count).

``login_failures`` (by user name only, counted after the check) let 30 parallel guesses all be evaluated and let
anyone lock any account; ``login_attempts`` is counted and written in one write transaction before the check, per
client, per (client, account) and per account. ``username`` ``#token`` holds wrong bearer tokens of a client.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 20


def apply(db: sqlite_utils.Database) -> None:
    """Create the login_attempts table and its indexes."""
    db.execute("CREATE TABLE login_attempts (client TEXT NOT NULL, username TEXT NOT NULL, at TEXT NOT NULL)")
    db.execute("CREATE INDEX login_attempts_pair ON login_attempts(client, username, at)")
    db.execute("CREATE INDEX login_attempts_user ON login_attempts(username, at)")
    db.execute("CREATE INDEX login_attempts_at ON login_attempts(at)")
