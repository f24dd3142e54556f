"""What the health check reads: the applied schema version."""

from __future__ import annotations

import sqlite3


def schema_version(conn: sqlite3.Connection) -> int:
    """The highest applied migration (0 before any)."""
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])
