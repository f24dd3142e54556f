"""Deletes of the retention purge that are not about one pupil: expired login sessions, the traffic data classes
(violations with their evidence, plate reads, vehicle events) and
the attachments whose time is up (children's snapshots by receipt time, uploads nothing cites)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence


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


def _in(prefix: str, values: Sequence[str]) -> tuple[str, dict[str, str]]:
    """``:p0, :p1, ...`` and their values, for ``x IN (...)``."""
    params = {f"{prefix}{i}": v for i, v in enumerate(values)}
    return ", ".join(f":{k}" for k in params), params


def _chunks(values: Sequence[str], size: int = 400) -> list[Sequence[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def expired_violations(conn: sqlite3.Connection, unconfirmed_cutoff: str, confirmed_cutoff: str) -> list[str]:
    """Violations received before their class's cutoff: queued/rejected ones before ``unconfirmed_cutoff``,
    confirmed ones (handed off to the police) before ``confirmed_cutoff``."""
    rows = conn.execute(
        "SELECT violation_id FROM violations WHERE (state <> 'confirmed' AND received_at < :unconfirmed)"
        " OR (state = 'confirmed' AND received_at < :confirmed) ORDER BY violation_id",
        {"unconfirmed": unconfirmed_cutoff, "confirmed": confirmed_cutoff},
    )
    return [r[0] for r in rows]


def events_received_before(conn: sqlite3.Connection, kind: str, cutoff: str) -> list[str]:
    """Ids of events of ``kind`` the backend received before ``cutoff`` (its own clock)."""
    rows = conn.execute(
        "SELECT event_id FROM events WHERE kind = :kind AND received_at < :cutoff ORDER BY event_id",
        {"kind": kind, "cutoff": cutoff},
    )
    return [r[0] for r in rows]


def attachments_of(conn: sqlite3.Connection, event_ids: Sequence[str]) -> set[str]:
    """SHA-256 of every file the events (or the violations they are) cite."""
    shas: set[str] = set()
    for chunk in _chunks(event_ids):
        marks, params = _in("e", chunk)
        for sql in (
            f"SELECT sha256 FROM event_attachments WHERE event_id IN ({marks})",
            f"SELECT sha256 FROM violation_files WHERE violation_id IN ({marks})",
        ):
            shas.update(r[0] for r in conn.execute(sql, params))
    return shas


def delete_events(conn: sqlite3.Connection, event_ids: Sequence[str]) -> int:
    """Delete events with their attachment links, and the violations they are with their evidence rows and
    hand-offs; the review audit stays, with plate corrections blanked. Returns events deleted."""
    deleted = 0
    for chunk in _chunks(event_ids):
        marks, params = _in("e", chunk)
        conn.execute(
            "UPDATE violation_audit SET detail = '(plate removed by retention)'"
            f" WHERE action = 'correct_plate' AND violation_id IN ({marks})",
            params,
        )
        for table in ("violation_handoffs", "violation_files"):
            conn.execute(f"DELETE FROM {table} WHERE violation_id IN ({marks})", params)
        conn.execute(f"DELETE FROM violations WHERE violation_id IN ({marks})", params)
        conn.execute(f"DELETE FROM event_attachments WHERE event_id IN ({marks})", params)
        deleted += conn.execute(f"DELETE FROM events WHERE event_id IN ({marks})", params).rowcount
    return deleted


def still_cited(conn: sqlite3.Connection, shas: Sequence[str]) -> set[str]:
    """The files of ``shas`` some remaining event, violation or unknown face still cites."""
    cited: set[str] = set()
    for chunk in _chunks(shas):
        marks, params = _in("s", chunk)
        for sql in (
            f"SELECT sha256 FROM event_attachments WHERE sha256 IN ({marks})",
            f"SELECT sha256 FROM violation_files WHERE sha256 IN ({marks})",
            f"SELECT snapshot_sha256 FROM unknown_faces WHERE snapshot_sha256 IN ({marks})",
        ):
            cited.update(r[0] for r in conn.execute(sql, params))
    return cited


def vehicle_payloads_with_plates(conn: sqlite3.Connection, cutoff: str, limit: int) -> list[tuple[str, str]]:
    """``(event_id, payload)`` of vehicle events received before ``cutoff`` whose payload still holds a plate."""
    rows = conn.execute(
        "SELECT event_id, payload FROM events WHERE kind = 'vehicle' AND received_at < :cutoff"
        " AND payload LIKE :pattern ORDER BY event_id LIMIT :limit",
        {"cutoff": cutoff, "pattern": '%"plate_text":"%', "limit": limit},
    )
    return [(str(a), str(b)) for a, b in rows]


def set_payload(conn: sqlite3.Connection, event_id: str, payload: str) -> None:
    """Rewrite one event's stored payload (a field removed by retention)."""
    conn.execute("UPDATE events SET payload = :payload WHERE event_id = :e", {"payload": payload, "e": event_id})
