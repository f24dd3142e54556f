"""The notification outbox: one durable row per message, delivered by ``notifications.worker``.

The schema belongs to ``notifications.schema``; this migration only decides when it is installed (version 250,
recorded in ``schema_migrations`` like every other).
"""

from __future__ import annotations

import sqlite_utils

from notifications.schema import create_outbox

VERSION = 250


def apply(db: sqlite_utils.Database) -> None:
    """Create the outbox table and the indexes the worker and the dashboard query by."""
    create_outbox(db.conn)
