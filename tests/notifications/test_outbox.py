"""Enqueue in the caller's transaction, idempotent by dedupe key; dead letters and states for the dashboard; on
both database engines."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from backend.db import connect, migrate, transaction
from notifications import outbox, schema


@pytest.fixture
def db_path(database_url: str) -> str:
    """A migrated database of the engine under test (the name is the other outbox tests' fixture)."""
    db = connect(database_url)
    migrate(db)
    db.conn.close()
    return database_url


def _enqueue(conn, key: str, school: str | None = "s1", channel: str = "email") -> bool:
    return outbox.enqueue(
        conn,
        channel=channel,
        recipient="mum@example.kz",
        subject="A entered school",
        body="A entered school at 07:52",
        dedupe_key=key,
        school_id=school,
        kind="entered",
        language="en",
    )


def test_one_row_per_dedupe_key(db_path: str) -> None:
    db = connect(db_path)
    with transaction(db) as conn:
        added = [_enqueue(conn, k) for k in ("pass:1:g1", "pass:1:g1", "pass:1:g2", "pass:1:g1")]
    assert added == [True, False, True, False]
    assert outbox.counts(db.conn) == {"pending": 2, "sending": 0, "sent": 0, "dead": 0}
    state = outbox.state(db.conn, "pass:1:g1")
    assert state is not None and state.status == "pending" and state.attempts == 0
    assert outbox.state(db.conn, "nope") is None


def test_rolled_back_transaction_leaves_no_message(db_path: str) -> None:
    db = connect(db_path)
    with pytest.raises(RuntimeError), transaction(db) as conn:
        _enqueue(conn, "pass:2:g1")
        raise RuntimeError("ingest failed later in the batch")
    assert outbox.counts(db.conn)["pending"] == 0


def test_failed_lists_dead_letters_of_one_school(db_path: str) -> None:
    db = connect(db_path)
    with transaction(db) as conn:
        for key, school in [("a", "s1"), ("b", "s1"), ("c", "s2"), ("d", None)]:
            _enqueue(conn, key, school)
        conn.execute(
            "UPDATE outbox SET status = 'dead', last_error = 'smtp: 550 no such mailbox', attempts = 1, dead_at = 5"
            " WHERE dedupe_key IN ('a', 'c', 'd')"
        )
    dead = outbox.failed(db.conn, "s1")
    assert [(d.channel, d.reason, d.attempts) for d in dead] == [("email", "smtp: 550 no such mailbox", 1)]
    assert [d.recipient for d in outbox.failed(db.conn, None)] == ["mum@example.kz"]
    listed = [(m.dedupe_key, m.recipient, m.language, status) for m, status in outbox.messages(db.conn, "s1")]
    assert listed == [("a", "mum@example.kz", "en", "dead"), ("b", "mum@example.kz", "en", "pending")]
    assert [s.dedupe_key for s in outbox.states(db.conn, school_id="s1", status="pending")] == ["b"]


def test_police_row_is_unique_per_violation(db_path: str) -> None:
    db = connect(db_path)
    with transaction(db) as conn:
        first = outbox.enqueue_police(conn, violation_id="v-1", payload={"plate": "123ABC02"}, summary="red light")
        again = outbox.enqueue_police(conn, violation_id="v-1", payload={"plate": "123ABC02"}, summary="red light")
    assert (first, again) == (True, False)
    body = db.conn.execute("SELECT body FROM outbox WHERE dedupe_key = 'police:v-1'").fetchone()[0]
    assert json.loads(body) == {"violation_id": "v-1", "plate": "123ABC02"}


def test_prefix_lookup_and_delete_touch_only_that_prefix(db_path: str) -> None:
    db = connect(db_path)
    with transaction(db) as conn:
        for key in ("pass:e1:g1:email", "pass:e1:g2:sms", "pass:e10:g1:email", "pass:e2:g1:email"):
            _enqueue(conn, key)
    assert outbox.has_prefix(db.conn, "pass:e1:") and not outbox.has_prefix(db.conn, "pass:e3:")
    with transaction(db) as conn:
        assert outbox.delete_prefix(conn, "pass:e1:") == 2
    assert [s.dedupe_key for s in outbox.states(db.conn)] == ["pass:e10:g1:email", "pass:e2:g1:email"]
    assert not outbox.has_prefix(db.conn, "pass:e1:")
    with pytest.raises(ValueError, match="empty"):
        outbox.delete_prefix(db.conn, "")


def _outbox_schema(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return conn.execute(
        "SELECT type, name FROM sqlite_master WHERE tbl_name = 'outbox' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()


def test_schema_is_installed_by_the_backend_migration_and_idempotent(
    db_path: str, db_engine: str, tmp_path: Path
) -> None:
    migrated = connect(db_path).conn
    sql = "SELECT name FROM schema_migrations WHERE version IN (30, 250) ORDER BY version"
    assert [r[0] for r in migrated.execute(sql)] == [
        "backend.migrations.m0030_outbox_claims",
        "backend.migrations.m0250_outbox",
    ]
    bare = sqlite3.connect(tmp_path / "bare.sqlite", isolation_level=None)
    for _ in range(2):  # a second install changes nothing
        schema.create_outbox(bare)
        schema.add_claim_indexes(bare)
    expected = [
        ("index", "outbox_due"),
        ("index", "outbox_leased"),
        ("index", "outbox_pending"),
        ("index", "outbox_school_status"),
        ("table", "outbox"),
    ]
    assert sorted(_outbox_schema(bare)) == expected
    if db_engine == "sqlite":
        assert sorted(_outbox_schema(migrated)) == expected
    else:
        rows = migrated.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'outbox'").fetchall()
        assert {r[0] for r in rows} >= {n for kind, n in expected if kind == "index"}
    assert [_enqueue(bare, "k"), _enqueue(bare, "k")] == [True, False]
    migrated.close()
