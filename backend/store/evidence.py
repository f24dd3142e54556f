"""The anchored head of each traffic camera's evidence chain and the conflicts the anchor caught.

``evidence_heads`` keeps, per camera, the newest package's sequence number and manifest hash seen on ingest;
``evidence_conflicts`` every package that did not extend it (rollback, fork, gap) and every reported head behind it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import astuple, dataclass, fields


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The newest package of a camera's chain the backend has seen."""

    camera_id: str
    seq: int
    manifest_sha256: str
    violation_id: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class ChainConflict:
    """A package or reported head that did not extend the anchored chain."""

    conflict_id: str
    camera_id: str
    violation_id: str | None
    kind: str
    seq: int
    anchored_seq: int
    detail: str
    at: str


_HEAD = tuple(f.name for f in fields(ChainHead))
_CONFLICT = tuple(f.name for f in fields(ChainConflict))


def head(conn: sqlite3.Connection, camera_id: str) -> ChainHead | None:
    """The camera's anchored head, or None before its first package."""
    row = conn.execute(
        f"SELECT {', '.join(_HEAD)} FROM evidence_heads WHERE camera_id = :c", {"c": camera_id}
    ).fetchone()
    return None if row is None else ChainHead(*row)


def set_head(conn: sqlite3.Connection, new: ChainHead) -> None:
    """Move the camera's anchored head to ``new``."""
    conn.execute(
        "INSERT INTO evidence_heads(camera_id, seq, manifest_sha256, violation_id, updated_at)"
        " VALUES (:camera_id, :seq, :manifest_sha256, :violation_id, :updated_at)"
        " ON CONFLICT(camera_id) DO UPDATE SET seq = excluded.seq, manifest_sha256 = excluded.manifest_sha256,"
        " violation_id = excluded.violation_id, updated_at = excluded.updated_at",
        dict(zip(_HEAD, astuple(new), strict=True)),
    )


def add_conflict(conn: sqlite3.Connection, conflict: ChainConflict) -> None:
    """Record one conflict."""
    marks = ", ".join(f":{n}" for n in _CONFLICT)
    conn.execute(
        f"INSERT INTO evidence_conflicts({', '.join(_CONFLICT)}) VALUES ({marks})",
        dict(zip(_CONFLICT, astuple(conflict), strict=True)),
    )


def conflicts(conn: sqlite3.Connection, camera_id: str, limit: int = 100) -> list[ChainConflict]:
    """The camera's conflicts, newest first."""
    rows = conn.execute(
        f"SELECT {', '.join(_CONFLICT)} FROM evidence_conflicts WHERE camera_id = :c"
        " ORDER BY at DESC, conflict_id LIMIT :limit",
        {"c": camera_id, "limit": limit},
    )
    return [ChainConflict(*r) for r in rows]
