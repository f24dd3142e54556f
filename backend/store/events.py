"""Stored wire events (``events``) and their links to attachments (``event_attachments``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from backend.store.dialect import scalars


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


def insert(conn: sqlite3.Connection, events: Sequence[EventRow], links: Sequence[AttachmentLink]) -> None:
    """Store new events and their attachment links (a link stored already is left as it is)."""
    conn.executemany(
        "INSERT INTO events(event_id, kind, camera_id, captured_at, received_at, schema_version, payload)"
        " VALUES (:event_id, :kind, :camera_id, :captured_at, :received_at, :schema_version, :payload)",
        [
            {
                "event_id": e.event_id,
                "kind": e.kind,
                "camera_id": e.camera_id,
                "captured_at": e.captured_at,
                "received_at": e.received_at,
                "schema_version": e.schema_version,
                "payload": e.payload,
            }
            for e in events
        ],
    )
    conn.executemany(
        "INSERT INTO event_attachments(event_id, sha256, role) VALUES (:event_id, :sha256, :role)"
        " ON CONFLICT DO NOTHING",
        [{"event_id": a.event_id, "sha256": a.sha256, "role": a.role} for a in links],
    )


def count(conn: sqlite3.Connection) -> int:
    """How many events are stored."""
    return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def attachment_shas(conn: sqlite3.Connection, event_id: str) -> list[str]:
    """SHA-256s the event links to."""
    sql = "SELECT sha256 FROM event_attachments WHERE event_id = :event_id"
    return scalars(conn.execute(sql, {"event_id": event_id}))


def delete(conn: sqlite3.Connection, event_id: str) -> None:
    """Delete an event (its attachment links go with it by cascade)."""
    conn.execute("DELETE FROM events WHERE event_id = :event_id", {"event_id": event_id})


def is_referenced(conn: sqlite3.Connection, sha256: str, kind: str | None = None) -> bool:
    """Whether any stored event (of ``kind``, when given) still links to ``sha256``."""
    sql = (
        "SELECT 1 FROM event_attachments a JOIN events e ON e.event_id = a.event_id"
        " WHERE a.sha256 = :sha256 AND (:kind IS NULL OR e.kind = :kind) LIMIT 1"
    )
    return conn.execute(sql, {"sha256": sha256, "kind": kind}).fetchone() is not None
