"""Stored wire events (``events``) and their links to attachments (``event_attachments``).

On PostgreSQL ``events`` is partitioned by UTC capture day (``day``) and each id is kept once in ``event_ids`` (see
migration 1); on SQLite it is one table keyed by ``event_id``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from backend.store.dialect import existing, is_postgres, scalars


@dataclass(frozen=True, slots=True)
class EventRow:
    """One event as stored: its JSON payload plus the columns queries filter on."""

    event_id: str
    kind: str
    camera_id: str
    captured_at: str
    received_at: str
    schema_version: int
    payload: str


@dataclass(frozen=True, slots=True)
class AttachmentLink:
    """An event's reference to attachment bytes by SHA-256, with the attachment's role (e.g. ``snapshot``)."""

    event_id: str
    sha256: str
    role: str


def insert_new(conn: sqlite3.Connection, events: Sequence[EventRow], links: Sequence[AttachmentLink]) -> set[str]:
    """Store the events whose id is not stored yet, with their attachment links; returns the ids stored now.

    One set-based statement per batch: PostgreSQL inserts ``unnest`` arrays into ``event_ids`` with ``ON CONFLICT DO
    NOTHING RETURNING`` and the returned rows into the day partitions, in one statement (a concurrent API process
    cannot store an id twice); SQLite (whose ``BEGIN IMMEDIATE`` admits one writer) looks the ids up in one ``IN``
    query and inserts the rest with ``executemany``. Links of events not stored now are left alone.
    """
    if not events:
        return set()
    new = _insert_postgres(conn, events) if is_postgres(conn) else _insert_sqlite(conn, events)
    mine = [a for a in links if a.event_id in new]
    conn.executemany(
        "INSERT INTO event_attachments(event_id, sha256, role) VALUES (:event_id, :sha256, :role)"
        " ON CONFLICT DO NOTHING",
        [{"event_id": a.event_id, "sha256": a.sha256, "role": a.role} for a in mine],
    )
    return new


def insert(conn: sqlite3.Connection, events: Sequence[EventRow], links: Sequence[AttachmentLink]) -> None:
    """Store events and their attachment links (ids stored already, and their links, are left as they are)."""
    insert_new(conn, events, links)


def _insert_sqlite(conn: sqlite3.Connection, events: Sequence[EventRow]) -> set[str]:
    stored = existing(conn, "events", "event_id", [e.event_id for e in events])
    fresh = [e for e in events if e.event_id not in stored]
    conn.executemany(
        "INSERT INTO events(event_id, kind, camera_id, captured_at, received_at, schema_version, payload)"
        " VALUES (:event_id, :kind, :camera_id, :captured_at, :received_at, :schema_version, :payload)",
        [
            {"event_id": e.event_id, "kind": e.kind, "camera_id": e.camera_id, "captured_at": e.captured_at,
             "received_at": e.received_at, "schema_version": e.schema_version, "payload": e.payload}
            for e in fresh
        ],
    )  # fmt: skip
    return {e.event_id for e in fresh}


_INSERT_POSTGRES = (
    "WITH input AS (SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:days AS text[]), CAST(:kinds AS text[]),"
    " CAST(:cameras AS text[]), CAST(:captured AS text[]), CAST(:received AS text[]), CAST(:versions AS bigint[]),"
    " CAST(:payloads AS text[])) AS t(event_id, day, kind, camera_id, captured_at, received_at, schema_version,"
    " payload)),"
    " fresh AS (INSERT INTO event_ids(event_id, day) SELECT event_id, day FROM input ON CONFLICT DO NOTHING"
    " RETURNING event_id)"
    " INSERT INTO events(event_id, day, kind, camera_id, captured_at, received_at, schema_version, payload)"
    " SELECT i.event_id, i.day, i.kind, i.camera_id, i.captured_at, i.received_at, i.schema_version, i.payload"
    " FROM input i JOIN fresh f ON f.event_id = i.event_id RETURNING event_id"
)


def _insert_postgres(conn: sqlite3.Connection, events: Sequence[EventRow]) -> set[str]:
    ensure_partitions(conn, events)
    params = {
        "ids": [e.event_id for e in events],
        "days": [capture_day(e.captured_at) for e in events],
        "kinds": [e.kind for e in events],
        "cameras": [e.camera_id for e in events],
        "captured": [e.captured_at for e in events],
        "received": [e.received_at for e in events],
        "versions": [e.schema_version for e in events],
        "payloads": [e.payload for e in events],
    }
    return {str(r[0]) for r in conn.execute(_INSERT_POSTGRES, params)}


def capture_day(captured_at: str) -> str:
    """The UTC day (``YYYY-MM-DD``) of an ISO capture time: the partition an event goes to."""
    return datetime.fromisoformat(captured_at).astimezone(UTC).date().isoformat()


def _partition(day: str) -> str:
    return "events_d" + day.replace("-", "")


def ensure_partitions(conn: sqlite3.Connection, events: Sequence[EventRow]) -> None:
    """Create the PostgreSQL day partitions the ``events`` go to where missing (no-op on SQLite).

    Creation takes a lock on ``events``, so call this before the ingest transaction; a missing day is created under
    an advisory lock (two API processes meeting a new day create it once); days known to exist are remembered per
    connection pool.
    """
    if not is_postgres(conn):
        return
    days = {capture_day(e.captured_at) for e in events}
    known: set[str] = conn.shared.setdefault("event_days", set())  # type: ignore[attr-defined]
    missing = sorted(days - known)
    if not missing:
        return
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events'"
    )
    known.update(_day_of(str(r[0])) for r in rows)
    for day in [d for d in missing if d not in known]:
        _create_partition(conn, day)
        known.add(day)


def _day_of(partition: str) -> str:
    digits = partition.removeprefix("events_d")
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}"


def _create_partition(conn: sqlite3.Connection, day: str) -> None:
    following = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    ddl = (
        f"CREATE TABLE IF NOT EXISTS {_partition(day)} PARTITION OF events"
        f" FOR VALUES FROM ('{date.fromisoformat(day).isoformat()}') TO ('{following}')"
    )
    if conn.in_transaction:  # inside the caller's transaction: its lock is held until it commits
        conn.execute("SELECT pg_advisory_xact_lock(:key)", {"key": PARTITION_LOCK})
        conn.execute(ddl)
        return
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(:key)", {"key": PARTITION_LOCK})
        conn.execute(ddl)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


PARTITION_LOCK = 7_340_002
"""Advisory lock key (PostgreSQL) held while a day partition of ``events`` is created."""


def purge_before(conn: sqlite3.Connection, day: str) -> int:
    """Delete the events captured before the UTC day ``day`` (``YYYY-MM-DD``) and what hangs off them; returns how
    many events went (PostgreSQL: whole day partitions are dropped, then their ids; SQLite: row deletes)."""
    if not is_postgres(conn):
        return conn.execute("DELETE FROM events WHERE captured_at < :day", {"day": day}).rowcount
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events'"
    )
    old = sorted(name for (name,) in rows if _day_of(str(name)) < day)
    for name in old:
        conn.execute(f"DROP TABLE {name}")
    known: set[str] = conn.shared.setdefault("event_days", set())  # type: ignore[attr-defined]
    known.difference_update(_day_of(n) for n in old)
    return conn.execute("DELETE FROM event_ids WHERE day < :day", {"day": day}).rowcount


def count(conn: sqlite3.Connection) -> int:
    """How many events are stored."""
    return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def attachment_shas(conn: sqlite3.Connection, event_id: str) -> list[str]:
    """SHA-256s the event links to."""
    sql = "SELECT sha256 FROM event_attachments WHERE event_id = :event_id"
    return scalars(conn.execute(sql, {"event_id": event_id}))


def delete(conn: sqlite3.Connection, event_id: str) -> None:
    """Delete an event (its attachment links and the rows about it go with it by cascade)."""
    conn.execute("DELETE FROM events WHERE event_id = :event_id", {"event_id": event_id})
    if is_postgres(conn):  # the rows about an event reference its id in event_ids
        conn.execute("DELETE FROM event_ids WHERE event_id = :event_id", {"event_id": event_id})


def is_referenced(conn: sqlite3.Connection, sha256: str, kind: str | None = None) -> bool:
    """Whether any stored event (of ``kind``, when given) still links to ``sha256``."""
    sql = (
        "SELECT 1 FROM event_attachments a JOIN events e ON e.event_id = a.event_id"
        " WHERE a.sha256 = :sha256 AND (:kind IS NULL OR e.kind = :kind) LIMIT 1"
    )
    return conn.execute(sql, {"sha256": sha256, "kind": kind}).fetchone() is not None
