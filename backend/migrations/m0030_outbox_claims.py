"""Partial indexes for the outbox claim (several workers on PostgreSQL claim with ``FOR UPDATE SKIP LOCKED``).

The outbox is created here when missing (``CREATE TABLE IF NOT EXISTS``: on a fresh database this runs before
migration 250, which then changes nothing), so the indexes always have their table.
"""

from __future__ import annotations

import sqlite_utils

from notifications.schema import add_claim_indexes, create_outbox

VERSION = 30


def apply(db: sqlite_utils.Database) -> None:
    """Create the outbox where missing and its partial indexes of pending and leased rows."""
    create_outbox(db.conn)
    add_claim_indexes(db.conn)
