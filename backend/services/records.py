"""Look-ups shared by the school routes: an object exists AND belongs to the caller's school (else 404)."""

from __future__ import annotations

import sqlite3
from typing import Any

from backend.errors import Problem


def one(conn: sqlite3.Connection, sql: str, args: tuple[Any, ...], what: str) -> tuple[Any, ...]:
    """The single row of ``sql`` or a 404 naming ``what``."""
    row = conn.execute(sql, args).fetchone()
    if row is None:
        raise Problem(404, "Not found", f"no {what} here")
    return tuple(row)


def pupil_of_school(conn: sqlite3.Connection, school_id: str, pupil_id: str) -> tuple[Any, ...]:
    """(pupil_id, name, class_id) of a pupil of this school."""
    return one(
        conn,
        "SELECT pupil_id, name, class_id FROM pupils WHERE pupil_id = ? AND school_id = ?",
        (pupil_id, school_id),
        f"pupil {pupil_id!r} in this school",
    )


def pupil_of_guardian(conn: sqlite3.Connection, guardian_id: str, pupil_id: str) -> tuple[Any, ...]:
    """(pupil_id, name, school_id) of a child of this guardian (404 for anyone else's child)."""
    return one(
        conn,
        "SELECT p.pupil_id, p.name, p.school_id FROM guardian_pupils gp JOIN pupils p ON p.pupil_id = gp.pupil_id"
        " WHERE gp.guardian_id = ? AND gp.pupil_id = ?",
        (guardian_id, pupil_id),
        f"child {pupil_id!r} of this guardian",
    )
