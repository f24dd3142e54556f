"""Reading an account straight from a backend's SQLite file, for tests that check what the server stored."""

from __future__ import annotations

from pathlib import Path

from backend.db import connect


def password_hash_of(database: Path, username: str) -> str:
    """The stored password hash of ``username`` (its scheme and cost parameters lead the string)."""
    db = connect(database)
    try:
        return str(db.execute("SELECT password_hash FROM users WHERE username = ?", [username]).fetchone()[0])
    finally:
        db.conn.close()
