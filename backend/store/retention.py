"""Deletes of the retention purge that are not about one pupil: expired login sessions and
the attachments whose time is up (children's snapshots by receipt time, uploads nothing cites)."""

from __future__ import annotations

import sqlite3


def delete_expired_sessions(conn: sqlite3.Connection, now: str) -> int:
    """Delete staff/guardian sessions that expired before ``now`` (ISO UTC); returns how many."""
    return conn.execute("DELETE FROM sessions WHERE expires_at < :now", {"now": now}).rowcount


def media_of_kind_stored_before(conn: sqlite3.Connection, kind: str, cutoff: str) -> list[str]:
    """Attachments that a device of product ``kind`` uploaded and that the backend received before ``cutoff``.

    Receipt time is the backend's own clock (``media.stored_at``), never the device's capture time.
    """
    rows = conn.execute(
        "SELECT m.sha256 FROM media m WHERE m.stored_at < :cutoff"
        " AND EXISTS (SELECT 1 FROM media_uploads u WHERE u.sha256 = m.sha256 AND u.kind = :kind) ORDER BY m.sha256",
        {"cutoff": cutoff, "kind": kind},
    )
    return [r[0] for r in rows]


def uncited_media_stored_before(conn: sqlite3.Connection, cutoff: str) -> list[str]:
    """Attachments received before ``cutoff`` that no event, violation or unknown face cites."""
    rows = conn.execute(
        "SELECT m.sha256 FROM media m WHERE m.stored_at < :cutoff"
        " AND NOT EXISTS (SELECT 1 FROM event_attachments a WHERE a.sha256 = m.sha256)"
        " AND NOT EXISTS (SELECT 1 FROM violation_files f WHERE f.sha256 = m.sha256)"
        " AND NOT EXISTS (SELECT 1 FROM unknown_faces u WHERE u.snapshot_sha256 = m.sha256) ORDER BY m.sha256",
        {"cutoff": cutoff},
    )
    return [r[0] for r in rows]


def drop_media_references(conn: sqlite3.Connection, sha256: str) -> None:
    """Remove every reference to ``sha256``: event links of any product, violation evidence rows, unknown faces.

    The events, violations and unknown-face rows stay; only the link to the bytes goes.
    """
    params = {"sha256": sha256}
    conn.execute("DELETE FROM event_attachments WHERE sha256 = :sha256", params)
    conn.execute("DELETE FROM violation_files WHERE sha256 = :sha256", params)
    conn.execute("UPDATE unknown_faces SET snapshot_sha256 = NULL WHERE snapshot_sha256 = :sha256", params)
