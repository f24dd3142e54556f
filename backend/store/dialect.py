"""What differs between the engines, kept in one place: the seam PostgreSQL sits behind.

Everything else in ``backend.store`` is written once in portable SQL (named parameters, ``ON CONFLICT``,
``COALESCE``, ``COUNT``); the SQLite pragmas live in ``backend.db.connect`` and the PostgreSQL adapter (parameter
style, DDL types, error mapping) in ``backend.store.postgres``. Here: which engine a connection talks to, which
exception means a constraint was violated (both engines raise ``sqlite3.IntegrityError``), how many values one
``IN (...)`` list may bind, the migration lock and per-key write locks.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

IntegrityError = sqlite3.IntegrityError
"""Raised by the driver when a unique, primary-key, foreign-key or check constraint fails."""

IN_LIST_CHUNK = 500
"""Values bound per ``IN (...)`` list (SQLite's variable limit is 999 on old builds)."""


MIGRATION_LOCK = 7_340_001
"""Advisory lock key (PostgreSQL) held while migrations run."""


def engine(conn: sqlite3.Connection) -> str:
    """``postgresql`` for the adapter of ``backend.store.postgres``, else ``sqlite``."""
    return str(getattr(conn, "dialect", "sqlite"))


def is_postgres(conn: sqlite3.Connection) -> bool:
    """Whether ``conn`` talks to PostgreSQL."""
    return engine(conn) == "postgresql"


@contextmanager
def migration_lock(conn: sqlite3.Connection) -> Iterator[None]:
    """Hold PostgreSQL's session advisory lock while migrating (SQLite: each migration's BEGIN IMMEDIATE suffices)."""
    if not is_postgres(conn):
        yield
        return
    conn.execute("SELECT pg_advisory_lock(:key)", {"key": MIGRATION_LOCK})
    try:
        yield
    finally:
        conn.execute("SELECT pg_advisory_unlock(:key)", {"key": MIGRATION_LOCK})


def lock_keys(conn: sqlite3.Connection, scope: str, keys: Iterable[str]) -> None:
    """Serialise writers of the same keys until the transaction ends (PostgreSQL row-independent advisory locks).

    SQLite's ``BEGIN IMMEDIATE`` already serialises every writer, so this is a no-op there. Keys are locked in sorted
    order, so two transactions never wait on each other in a cycle.
    """
    if not is_postgres(conn):
        return
    ids = sorted({zlib.crc32(f"{scope}:{k}".encode()) - 2**31 for k in keys})
    if ids:
        conn.execute(
            "SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:ids AS bigint[])) AS t(k) ORDER BY k", {"ids": ids}
        )


def table_exists(conn: sqlite3.Connection, table: str) -> bool:
    """Whether ``table`` exists (for a migration that adds to a table a later-numbered migration creates)."""
    if is_postgres(conn):
        sql = "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = :t"
    else:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :t"
    return conn.execute(sql, {"t": table}).fetchone() is not None


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


def analyze(conn: sqlite3.Connection) -> None:
    """Refresh the planner's statistics of every table (both engines know ``ANALYZE``), outside a transaction.

    After a bulk load (a district's pupils and guardians at once) the planner still sees the tables as they were,
    and PostgreSQL's cached plans of the lookups each event makes can scan instead of seek until autovacuum's
    analyze comes round; a bulk loader calls this when it has committed.
    """
    conn.execute("ANALYZE")
