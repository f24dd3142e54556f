"""Pages (issue 17): each school keeps its own time zone (``Asia/Almaty``, ``Asia/Aqtobe``...), so its pages show
dates and times in the school's zone rather than one zone per deployment. NULL: the deployment's
``school.timezone``. A user's page language is the existing ``users.language``."""

from __future__ import annotations

import sqlite_utils

VERSION = 210


def apply(db: sqlite_utils.Database) -> None:
    """Add ``schools.timezone``."""
    db.execute("ALTER TABLE schools ADD COLUMN timezone TEXT")
