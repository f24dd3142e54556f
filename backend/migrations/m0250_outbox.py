"""The notification outbox: one durable row per message, delivered by ``notifications.worker``."""

from __future__ import annotations

import sqlite_utils

VERSION = 250


def apply(db: sqlite_utils.Database) -> None:
    """Create the outbox table and the indexes the worker and the dashboard query by.

    Times are UNIX seconds (REAL, UTC) so the worker compares them numerically.
    """
    db.execute(
        """CREATE TABLE outbox (
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
        )"""
    )
    db.execute("CREATE INDEX outbox_due ON outbox(status, next_attempt_at)")
    db.execute("CREATE INDEX outbox_school_status ON outbox(school_id, status)")
