"""A real, migrated SQLite file per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.db import connect, migrate


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "outbox.sqlite"
    db = connect(path)
    migrate(db)
    db.conn.close()
    return path
