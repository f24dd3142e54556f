"""What ingest compares a batch with (the stored payloads of its event ids) and the conflicts it records."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from backend.store.dialect import IN_LIST_CHUNK


@dataclass(frozen=True, slots=True)
class Conflict:
    """A refused copy of an event id with different content."""

    event_id: str
    camera_id: str
    received_at: str
    stored_sha256: str | None
    offered_sha256: str
    offered_payload: str


def _in_chunks(keys: Sequence[str]) -> list[tuple[str, dict[str, str]]]:
    """(``:k0, :k1, ...`` placeholder list, parameters) per chunk of ``IN_LIST_CHUNK`` keys."""
    parts = []
    for start in range(0, len(keys), IN_LIST_CHUNK):
        params = {f"k{i}": key for i, key in enumerate(keys[start : start + IN_LIST_CHUNK])}
        parts.append((", ".join(f":{n}" for n in params), params))
    return parts


def stored_payloads(conn: sqlite3.Connection, event_ids: Sequence[str]) -> dict[str, str]:
    """The stored JSON payload of each of ``event_ids`` that exists."""
    found: dict[str, str] = {}
    for marks, params in _in_chunks(event_ids):
        rows = conn.execute(f"SELECT event_id, payload FROM events WHERE event_id IN ({marks})", params)
        found.update((str(r[0]), str(r[1])) for r in rows)
    return found


def record(conn: sqlite3.Connection, conflicts: Sequence[Conflict]) -> None:
    """Record refused copies."""
    conn.executemany(
        "INSERT INTO event_conflicts(event_id, camera_id, received_at, stored_sha256, offered_sha256,"
        " offered_payload) VALUES (:event_id, :camera_id, :received_at, :stored_sha256, :offered_sha256,"
        " :offered_payload)",
        [
            {"event_id": c.event_id, "camera_id": c.camera_id, "received_at": c.received_at,
             "stored_sha256": c.stored_sha256, "offered_sha256": c.offered_sha256,
             "offered_payload": c.offered_payload}
            for c in conflicts
        ],
    )  # fmt: skip
