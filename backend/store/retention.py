"""Deletes of the retention purge that are not about a pupil: expired login sessions and old login failures."""

from __future__ import annotations

import sqlite3


def delete_expired_sessions(conn: sqlite3.Connection, now: str) -> int:
    """Delete staff/guardian sessions that expired before ``now`` (ISO UTC); returns how many."""
    return conn.execute("DELETE FROM sessions WHERE expires_at < :now", {"now": now}).rowcount


def delete_login_failures_before(conn: sqlite3.Connection, cutoff: str) -> int:
    """Delete failed-login records older than ``cutoff`` (ISO UTC); returns how many."""
    return conn.execute("DELETE FROM login_failures WHERE at < :cutoff", {"cutoff": cutoff}).rowcount
