"""Database access: SQLite (WAL, foreign keys) or PostgreSQL (pooled, ``backend.store.postgres``), and versioned
migrations applied at start.

``database.url`` chooses: ``sqlite:///path`` (the embedded default) or ``postgresql://...``. Either way callers get a
``sqlite_utils.Database`` whose ``conn`` speaks the ``sqlite3.Connection`` interface, so the stores are written once.
On PostgreSQL ``connect`` takes a connection from the process's pool and ``conn.close()`` gives it back.

Commits are ``synchronous=NORMAL`` (durable at the next checkpoint) except on a connection marked :func:`durable`:
ingest marks its connection, so an event batch is on disk before it is acknowledged (the device then drops it from its
spool; after a power cut it must still be here). Syncing the WAL also makes the earlier NORMAL commits durable.

The outbox worker gets its connections from :func:`connector`, so the pragmas live here only.

Migrations are modules ``backend/migrations/mNNNN_<name>.py`` with ``VERSION`` and ``apply(db)``; they run once, in
version order, each in its own transaction, and are recorded in ``schema_migrations``. Number ranges per area keep
parallel work apart: 1-99 platform, 100-199 school entry, 200-299 school service, 300-399 traffic.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import sqlite_utils

from backend import migrations
from backend.settings import DatabaseSettings
from backend.store import dialect
from notifications.database import Connect
from notifications.database import transaction as immediate_transaction

logger = logging.getLogger(__name__)


Target = DatabaseSettings | Path | str
"""A database: its settings, a SQLite file, or a ``sqlite:///``/``postgresql://`` URL."""

_POOLS: dict[str, Any] = {}
_POOLS_LOCK = threading.Lock()


def settings_of(target: Target) -> DatabaseSettings:
    """The database settings a target stands for (a bare path is a SQLite file)."""
    if isinstance(target, DatabaseSettings):
        return target
    text = os.fspath(target)
    return DatabaseSettings(url=text if "://" in text else f"sqlite:///{text}")


def _pool(settings: DatabaseSettings) -> Any:
    """The process's connection pool of a PostgreSQL URL, opened on first use."""
    from backend.store import postgres

    with _POOLS_LOCK:
        pool = _POOLS.get(settings.url)
        if pool is None:
            pool = postgres.open_pool(
                settings.url,
                min_size=settings.pool_min,
                max_size=settings.pool_max,
                timeout_s=settings.connect_timeout_s,
                name=settings.masked_url,
            )
            _POOLS[settings.url] = pool
        return pool


def close_pools(url: str | None = None) -> None:
    """Close the PostgreSQL pool of ``url`` (every pool of this process when None), e.g. at shutdown; the next
    ``connect`` opens a new one."""
    with _POOLS_LOCK:
        keys = list(_POOLS) if url is None else [k for k in _POOLS if k == url]
        pools = [_POOLS.pop(k) for k in keys]
    for pool in pools:
        pool.close()


def connect(target: Target, busy_timeout_ms: int = 10_000) -> sqlite_utils.Database:
    """Open the database with what every connection needs (SQLite: pragmas; PostgreSQL: a pooled connection).

    Raises:
        sqlite3.OperationalError: PostgreSQL cannot be reached within ``database.connect_timeout_s``.
    """
    settings = settings_of(target)
    if settings.engine == "postgresql":
        from backend.store import postgres

        conn = cast(sqlite3.Connection, postgres.PgConnection(_pool(settings)))
        return sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
    path = settings.path
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000)
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return sqlite_utils.Database(conn)


def durable(db: sqlite_utils.Database) -> None:
    """From now on, every commit of this connection is synced to disk before it returns (``synchronous=FULL``).

    PostgreSQL's commits are durable already (``synchronous_commit`` on, its default).
    """
    if not dialect.is_postgres(db.conn):
        db.conn.execute("PRAGMA synchronous=FULL")


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT; any exception rolls back and propagates, so nothing is half-written.

    The one helper is ``notifications.database.transaction`` (the outbox worker needs it and sits below the
    backend); this adapts it to the backend's ``sqlite_utils.Database`` handles.
    """
    with immediate_transaction(db.conn) as conn:
        yield conn


def connector(target: Target, busy_timeout_ms: int = 10_000) -> Connect:
    """A factory of raw connections as :func:`connect` opens them, for the outbox worker (which closes them)."""
    return lambda: connect(target, busy_timeout_ms).conn


def _migration_modules() -> list[ModuleType]:
    modules = [
        importlib.import_module(f"{migrations.__name__}.{info.name}")
        for info in pkgutil.iter_modules(migrations.__path__)
        if info.name.startswith("m") and info.name[1:5].isdigit()
    ]
    modules.sort(key=lambda m: int(m.VERSION))
    versions = [int(m.VERSION) for m in modules]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions: {versions}")
    return modules


def migrate(db: sqlite_utils.Database) -> list[int]:
    """Apply pending migrations in order; returns the versions applied now.

    On PostgreSQL the whole run holds an advisory lock, so API processes starting together migrate once.
    """
    with dialect.migration_lock(db.conn):
        return _migrate(db)


def _migrate(db: sqlite_utils.Database) -> list[int]:
    db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    done = {row[0] for row in db.execute("SELECT version FROM schema_migrations").fetchall()}
    applied: list[int] = []
    for module in _migration_modules():
        version = int(module.VERSION)
        if version in done:
            continue
        apply: Callable[[sqlite_utils.Database], None] = module.apply
        with transaction(db) as conn:
            apply(db)
            conn.execute("INSERT INTO schema_migrations(version, name) VALUES (?, ?)", (version, module.__name__))
        logger.info("applied migration %s", module.__name__)
        applied.append(version)
    return applied
