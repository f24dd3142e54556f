"""The outbox's tables and indexes, owned here and installed by the host's migration runner.

The backend's migration ``m0250_outbox`` calls :func:`create_outbox` inside its migration transaction. A later change
to the outbox adds a function here (e.g. ``add_...``) and a backend migration that calls it, so the host's
``schema_migrations`` stays the one record of what was applied.
"""

from __future__ import annotations

import sqlite3

OUTBOX_DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS outbox (
            id INTEGER PRIMARY KEY,
            dedupe_key TEXT NOT NULL UNIQUE,
            channel TEXT NOT NULL,
            recipient TEXT NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            school_id TEXT,
            kind TEXT NOT NULL,
            language TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            next_attempt_at REAL NOT NULL,
            lease_owner TEXT,
            lease_until REAL,
            sent_at REAL,
            dead_at REAL,
            provider_id TEXT,
            last_error TEXT
        )""",
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, next_attempt_at)",
    "CREATE INDEX IF NOT EXISTS outbox_school_status ON outbox(school_id, status)",
)
"""Times are UNIX seconds (REAL, UTC) so the worker compares them numerically; ``outbox_due`` serves the claim,
``outbox_school_status`` the dashboard; the unique ``dedupe_key`` index makes enqueueing idempotent and serves the
prefix look-ups."""


CLAIM_INDEXES: tuple[str, ...] = (
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(next_attempt_at, id) WHERE status = 'pending'",
    "CREATE INDEX IF NOT EXISTS outbox_leased ON outbox(lease_until) WHERE status = 'sending'",
)
"""Partial indexes of the rows a claim can take (pending, and sending with a lease that may have expired): they stay
small however many sent rows the table holds."""


def add_claim_indexes(conn: sqlite3.Connection) -> None:
    """Create the claim's partial indexes where missing, in the caller's transaction."""
    for statement in CLAIM_INDEXES:
        conn.execute(statement)


def create_outbox(conn: sqlite3.Connection) -> None:
    """Create the outbox table and its indexes where missing, in the caller's transaction (never commits)."""
    for statement in OUTBOX_DDL:
        conn.execute(statement)
