"""The little SQLite plumbing the outbox needs, with no opinion on where the database is or how it is opened.

The caller opens connections (the backend with its pragmas: WAL, busy timeout, foreign keys) and hands the worker a
:data:`Connect` factory; :func:`transaction` is the one ``BEGIN IMMEDIATE`` helper, which ``backend.db`` wraps too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Connect = Callable[[], sqlite3.Connection]
"""Opens a new autocommit connection (``isolation_level=None``) to the database that holds the outbox; the one who
calls it owns the connection and closes it."""


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT; any exception rolls back and propagates, so nothing is half-written."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
