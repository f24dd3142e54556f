"""The durable on-device spool: every event (and its attachment bytes) goes through it.

A put is one SQLite transaction (WAL, ``synchronous=FULL``, so a power cut after ``put`` returns loses nothing).
Rows leave only when the backend has acknowledged them, so delivery is at-least-once; the backend's idempotent
ingest by event UUID turns that into exactly-once storage.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from kuzet.contracts import Attachment, EventBase

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    enqueued_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS media (
    sha256 TEXT PRIMARY KEY,
    media_type TEXT NOT NULL,
    data BLOB NOT NULL,
    uploaded INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rejected (
    event_id TEXT PRIMARY KEY,
    payload TEXT NOT NULL,
    reason TEXT NOT NULL,
    rejected_at REAL NOT NULL
);
"""


class SpoolFullError(RuntimeError):
    """The backlog reached ``max_events``: the uplink has been down too long for the disk budget."""


@dataclass(frozen=True, slots=True)
class SpooledEvent:
    """One queued event as stored: its sequence number, id, JSON payload and attachment hashes."""

    seq: int
    event_id: str
    payload: str
    attachments: tuple[str, ...]


def make_attachment(data: bytes, media_type: str, role: str) -> Attachment:
    """Describe ``data`` by content hash for an event's ``attachments``."""
    return Attachment.model_validate(
        {
            "sha256": hashlib.sha256(data).hexdigest(),
            "media_type": media_type,
            "role": role,
            "size_bytes": len(data),
        }
    )


class Spool:
    """SQLite-backed FIFO of events plus the attachment bytes they reference. Thread-safe."""

    def __init__(self, path: Path, max_events: int = 1_000_000) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_events = max_events
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database (pending rows stay on disk)."""
        with self._lock:
            self._db.close()

    def put(self, event: EventBase, media: Mapping[str, bytes] | None = None) -> bool:
        """Queue an event and the bytes of its attachments, atomically.

        Args:
            event: any wire event.
            media: attachment bytes keyed by SHA-256; every attachment of the event must be present.

        Returns:
            False when the same event id is already queued (nothing written), True otherwise.

        Raises:
            ValueError: an attachment's bytes are missing or do not match its hash.
            SpoolFullError: the backlog is at ``max_events``.
        """
        media = dict(media or {})
        for attachment in event.attachments:
            data = media.get(attachment.sha256)
            if data is None or hashlib.sha256(data).hexdigest() != attachment.sha256:
                raise ValueError(f"attachment {attachment.sha256[:12]}… of {event.event_id}: bytes missing or wrong")
        kind = str(getattr(event, "kind", "event"))
        with self._lock, self._tx():
            if self._depth_locked() >= self.max_events:
                raise SpoolFullError(f"spool {self.path} holds {self.max_events} events; uplink is not draining")
            for attachment in event.attachments:
                self._db.execute(
                    "INSERT OR IGNORE INTO media(sha256, media_type, data) VALUES (?, ?, ?)",
                    (attachment.sha256, attachment.media_type, media[attachment.sha256]),
                )
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO events(event_id, kind, payload, enqueued_at) VALUES (?, ?, ?, ?)",
                (str(event.event_id), kind, event.model_dump_json(), time.time()),
            )
            return cursor.rowcount == 1

    def peek(self, limit: int) -> list[SpooledEvent]:
        """The oldest ``limit`` events, in order, without removing them."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, event_id, payload FROM events ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [SpooledEvent(seq, eid, payload, _attachment_hashes(payload)) for seq, eid, payload in rows]

    def ack(self, seqs: Iterable[int]) -> None:
        """Remove acknowledged events; uploaded media no longer referenced goes with them."""
        ids = list(seqs)
        with self._lock, self._tx():
            self._db.executemany("DELETE FROM events WHERE seq = ?", [(s,) for s in ids])
            if self._depth_locked() == 0:
                self._db.execute("DELETE FROM media WHERE uploaded = 1")

    def reject(self, seq: int, reason: str) -> None:
        """Move an event the backend refused as malformed out of the queue, keeping it and the reason."""
        with self._lock, self._tx():
            self._db.execute(
                "INSERT OR REPLACE INTO rejected(event_id, payload, reason, rejected_at)"
                " SELECT event_id, payload, ?, ? FROM events WHERE seq = ?",
                (reason, time.time(), seq),
            )
            self._db.execute("DELETE FROM events WHERE seq = ?", (seq,))

    def rejected_count(self) -> int:
        """Events set aside because the backend refused them."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM rejected").fetchone()[0])

    def media(self, sha256: str) -> tuple[str, bytes, bool]:
        """(media_type, bytes, already uploaded) of a queued attachment."""
        with self._lock:
            row = self._db.execute(
                "SELECT media_type, data, uploaded FROM media WHERE sha256 = ?", (sha256,)
            ).fetchone()
        if row is None:
            raise KeyError(f"attachment {sha256} is not in the spool")
        return str(row[0]), bytes(row[1]), bool(row[2])

    def mark_uploaded(self, sha256: str) -> None:
        """Remember that the backend holds these bytes, so a retry does not send them again."""
        with self._lock:
            self._db.execute("UPDATE media SET uploaded = 1 WHERE sha256 = ?", (sha256,))

    def depth(self) -> int:
        """Events waiting for upload."""
        with self._lock:
            return self._depth_locked()

    def set_state(self, key: str, value: str) -> None:
        """Persist a small status value (e.g. last successful upload time)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO state(key, value) VALUES (?, ?)", (key, value))

    def get_state(self, key: str) -> str | None:
        """Read a status value written by ``set_state``."""
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _depth_locked(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def _tx(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (which then propagates)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _attachment_hashes(payload: str) -> tuple[str, ...]:
    return tuple(a["sha256"] for a in json.loads(payload).get("attachments", ()))
