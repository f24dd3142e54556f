"""The retention purge's session and login-failure deletes, the audit log read back, the schema version."""

from __future__ import annotations

import sqlite3

import pytest

from backend.store import audit, retention, system, users
from backend.store.users import NewAccount
from tests.backend.store.conftest import T0


@pytest.mark.parametrize(
    ("now", "left"),
    [("2026-03-01T00:00:00+00:00", 3), ("2026-03-02T12:00:00+00:00", 2), ("2026-04-01T00:00:00+00:00", 0)],
)
def test_expired_sessions_go(school: sqlite3.Connection, now: str, left: int) -> None:
    assert users.insert(school, NewAccount("u1", "anna", "h", "staff", "s1", None, None, "ru", T0))
    expiries = ["2026-03-02T00:00:00+00:00", "2026-03-03T00:00:00+00:00", "2026-03-04T00:00:00+00:00"]
    school.executemany(
        "INSERT INTO sessions(token_hash, user_id, created_at, expires_at) VALUES (?, 'u1', ?, ?)",
        [(f"tok{i}", T0, e) for i, e in enumerate(expiries)],
    )
    assert retention.delete_expired_sessions(school, now) == 3 - left
    assert school.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == left


def test_audit_log_newest_first_per_school(conn: sqlite3.Connection) -> None:
    conn.executemany(
        "INSERT INTO audit_log(at, actor, role, school_id, action, subject) VALUES (?, 'u1', 'staff', ?, ?, 'x')",
        [(T0, "s1", "first"), (T0, "s2", "elsewhere"), (T0, "s1", "second"), (T0, "s1", "third")],
    )
    assert [r.action for r in audit.recent(conn, "s1", 10)] == ["third", "second", "first"]
    assert [r.action for r in audit.recent(conn, "s1", 2)] == ["third", "second"]


def test_schema_version_is_the_highest_migration(conn: sqlite3.Connection) -> None:
    highest = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
    assert system.schema_version(conn) == highest > 0
