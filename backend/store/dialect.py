"""What the stores do that is SQLite's own, kept in one place: the seam another database goes behind.

Everything else in ``backend.store`` is written once in portable SQL (named parameters, ``ON CONFLICT``,
``COALESCE``, ``COUNT``); the pragmas live in ``backend.db.connect``. Here: which exception means a constraint was
violated, and how many values one ``IN (...)`` list may bind.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

IntegrityError = sqlite3.IntegrityError
"""Raised by the driver when a unique, primary-key, foreign-key or check constraint fails."""

IN_LIST_CHUNK = 500
"""Values bound per ``IN (...)`` list (SQLite's variable limit is 999 on old builds)."""


def try_insert(conn: sqlite3.Connection, sql: str, params: Mapping[str, Any]) -> bool:
    """Run an ``INSERT``; False (nothing written) when it violates a constraint, e.g. the key is taken."""
    try:
        conn.execute(sql, params)
    except IntegrityError:
        return False
    return True


def existing(conn: sqlite3.Connection, table: str, column: str, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` are stored in ``table.column`` (looked up in chunks of ``IN_LIST_CHUNK``).

    ``table`` and ``column`` come from the calling store, never from a request.
    """
    found: set[str] = set()
    for start in range(0, len(keys), IN_LIST_CHUNK):
        chunk = list(keys[start : start + IN_LIST_CHUNK])
        names = [f"k{i}" for i in range(len(chunk))]
        marks = ", ".join(f":{n}" for n in names)
        rows = conn.execute(
            f"SELECT {column} FROM {table} WHERE {column} IN ({marks})", dict(zip(names, chunk, strict=True))
        )
        found.update(r[0] for r in rows)
    return found


def scalars(rows: Iterable[Sequence[Any]]) -> list[Any]:
    """The first column of every row."""
    return [r[0] for r in rows]
