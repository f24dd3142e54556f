"""Camera health (``camera_health``, ``camera_health_history``) and the contacts its alerts go to.

The current row of a camera is the newest change in capture order: ``upsert_current`` writes only when the incoming
``(captured_at, event_id)`` is later than the stored one, so a late replay never overwrites a newer state. Lists
join ``devices`` for the camera's product kind and site, the keys of every scoping decision. ``active`` and
``measures`` are stored as JSON text and handed back decoded. Times are ISO-8601 UTC strings, compared as text.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class HealthRow:
    """One health change of a camera (the current row, or a row of its history)."""

    camera_id: str
    event_id: str
    state: str
    active: tuple[str, ...]
    previous: str
    since: str
    captured_at: str
    measures: dict[str, Any]
    message: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class CameraHealthLine:
    """A registered camera with its current health (state None: it has not reported yet)."""

    camera_id: str
    kind: str
    site: str
    description: str
    state: str | None
    active: tuple[str, ...]
    since: str | None
    message: str
    measures: dict[str, Any]
    updated_at: str | None


@dataclass(frozen=True, slots=True)
class OperatorContact:
    """An enabled operator of a district; ``email`` None when the account has no address."""

    user_id: str
    email: str | None
    language: str


def _params(row: HealthRow) -> dict[str, Any]:
    return {
        "camera_id": row.camera_id,
        "event_id": row.event_id,
        "state": row.state,
        "active": json.dumps(list(row.active)),
        "previous": row.previous,
        "since": row.since,
        "captured_at": row.captured_at,
        "measures": json.dumps(row.measures, sort_keys=True),
        "message": row.message,
        "updated_at": row.updated_at,
    }


def _row(values: tuple[Any, ...]) -> HealthRow:
    camera_id, event_id, state, active, previous, since, captured_at, measures, message, updated_at = values
    return HealthRow(
        camera_id, event_id, state, tuple(json.loads(active)), previous, since, captured_at, json.loads(measures),
        message, updated_at,
    )  # fmt: skip


def insert_history(conn: sqlite3.Connection, row: HealthRow) -> bool:
    """Record one change (``updated_at`` is when it was received); False when this event id is already there."""
    cursor = conn.execute(
        "INSERT INTO camera_health_history(event_id, camera_id, state, active, previous, since, captured_at,"
        " measures, message, received_at) VALUES (:event_id, :camera_id, :state, :active, :previous, :since,"
        " :captured_at, :measures, :message, :updated_at) ON CONFLICT (event_id) DO NOTHING",
        _params(row),
    )
    return cursor.rowcount == 1


def upsert_current(conn: sqlite3.Connection, row: HealthRow) -> bool:
    """Make ``row`` the camera's current state if it is newer in capture order; True when it was written."""
    cursor = conn.execute(
        "INSERT INTO camera_health(camera_id, event_id, state, active, previous, since, captured_at, measures,"
        " message, updated_at) VALUES (:camera_id, :event_id, :state, :active, :previous, :since, :captured_at,"
        " :measures, :message, :updated_at)"
        " ON CONFLICT (camera_id) DO UPDATE SET event_id = excluded.event_id, state = excluded.state,"
        " active = excluded.active, previous = excluded.previous, since = excluded.since,"
        " captured_at = excluded.captured_at, measures = excluded.measures, message = excluded.message,"
        " updated_at = excluded.updated_at"
        " WHERE excluded.captured_at > camera_health.captured_at"
        " OR (excluded.captured_at = camera_health.captured_at AND excluded.event_id > camera_health.event_id)",
        _params(row),
    )
    return cursor.rowcount == 1


_CURRENT = "camera_id, event_id, state, active, previous, since, captured_at, measures, message, updated_at"


def current(conn: sqlite3.Connection, camera_id: str) -> HealthRow | None:
    """The current health of a camera, None when it never reported."""
    found = conn.execute(
        f"SELECT {_CURRENT} FROM camera_health WHERE camera_id = :camera_id", {"camera_id": camera_id}
    ).fetchone()
    return None if found is None else _row(found)


def history(conn: sqlite3.Connection, camera_id: str, limit: int) -> list[HealthRow]:
    """The changes of a camera, newest first in capture order (``updated_at`` is when each was received)."""
    rows = conn.execute(
        "SELECT camera_id, event_id, state, active, previous, since, captured_at, measures, message, received_at"
        " FROM camera_health_history WHERE camera_id = :camera_id"
        " ORDER BY captured_at DESC, event_id DESC LIMIT :limit",
        {"camera_id": camera_id, "limit": limit},
    )
    return [_row(r) for r in rows]


def lines(conn: sqlite3.Connection, kind: str | None = None, site: str | None = None) -> list[CameraHealthLine]:
    """Registered, unrevoked cameras with their current health, by kind, site and id.

    Args:
        conn: connection.
        kind: only cameras of this product kind (``school`` / ``traffic``); None for all.
        site: only cameras at this site (a school id, a traffic district); None for all.
    """
    rows = conn.execute(
        "SELECT d.camera_id, d.kind, d.site, d.description, h.state, h.active, h.since, h.message, h.measures,"
        " h.updated_at FROM devices d LEFT JOIN camera_health h ON h.camera_id = d.camera_id"
        " WHERE d.revoked_at IS NULL AND (:kind IS NULL OR d.kind = :kind) AND (:site IS NULL OR d.site = :site)"
        " ORDER BY d.kind, d.site, d.camera_id",
        {"kind": kind, "site": site},
    )
    return [
        CameraHealthLine(
            camera_id, kind_, site_, description, state, tuple(json.loads(active or "[]")), since, message or "",
            json.loads(measures or "{}"), updated_at,
        )
        for camera_id, kind_, site_, description, state, active, since, message, measures, updated_at in rows
    ]  # fmt: skip


def operator_contacts(conn: sqlite3.Connection, district: str) -> list[OperatorContact]:
    """Enabled operators of a traffic district (with or without an e-mail address), by user id."""
    rows = conn.execute(
        "SELECT user_id, email, language FROM users WHERE role = 'operator' AND district = :district"
        " AND disabled_at IS NULL ORDER BY user_id",
        {"district": district},
    )
    return [OperatorContact(*r) for r in rows]
