"""One login system: operators become ``users`` rows (role ``operator`` with a ``district``), one ``sessions`` table.

``users`` is rebuilt: ``school_id`` may be NULL (an operator belongs to a district, not a school), the role may be
``operator``, and two columns are added (``district``, ``disabled_at``). Every operator keeps its id (now its
``user_id``), password hash, creation and disabling time; its open sessions move to ``sessions``; an operator whose
user name a school account already has is renamed ``<name>@<district>`` (logged). ``violations.decided_by`` then
refers to ``users``, and ``operators`` and ``operator_sessions`` are dropped.
"""

from __future__ import annotations

import logging

import sqlite_utils

from backend.store.dialect import is_postgres

VERSION = 302

logger = logging.getLogger(__name__)

USERS = """CREATE TABLE users_v2 (
    user_id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('school_admin', 'staff', 'guardian', 'operator')),
    school_id TEXT REFERENCES schools(school_id) ON DELETE CASCADE,
    guardian_id TEXT REFERENCES guardians(guardian_id) ON DELETE CASCADE,
    email TEXT,
    language TEXT NOT NULL DEFAULT 'ru',
    created_at TEXT NOT NULL,
    district TEXT,
    disabled_at TEXT,
    CHECK ((role = 'operator') = (district IS NOT NULL)),
    CHECK (role = 'operator' OR school_id IS NOT NULL)
)"""
SESSIONS = """CREATE TABLE sessions_v2 (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users_v2(user_id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
)"""
_OLD_REFERENCE = "REFERENCES operators(operator_id)"
_NEW_REFERENCE = "REFERENCES users(user_id)"


def _copy_accounts(db: sqlite_utils.Database) -> None:
    db.execute(
        "INSERT INTO users_v2(user_id, username, password_hash, role, school_id, guardian_id, email, language,"
        " created_at) SELECT user_id, username, password_hash, role, school_id, guardian_id, email, language,"
        " created_at FROM users"
    )
    clashes = db.execute("SELECT o.username FROM operators o JOIN users u ON u.username = o.username").fetchall()
    for (name,) in clashes:
        logger.warning("operator %r shares its user name with a school account: renamed to <name>@<district>", name)
    db.execute(
        "INSERT INTO users_v2(user_id, username, password_hash, role, created_at, district, disabled_at)"
        " SELECT o.operator_id,"
        " CASE WHEN EXISTS (SELECT 1 FROM users u WHERE u.username = o.username)"
        " THEN o.username || '@' || o.district ELSE o.username END,"
        " o.password_hash, 'operator', o.created_at, o.district, o.disabled_at FROM operators o"
    )
    db.execute("INSERT INTO sessions_v2 SELECT token_hash, user_id, created_at, expires_at FROM sessions")
    db.execute("INSERT INTO sessions_v2 SELECT token_hash, operator_id, created_at, expires_at FROM operator_sessions")


def _refer_violations_to_users(db: sqlite_utils.Database) -> None:
    """Point ``violations.decided_by`` at ``users`` (same ids; the stored rows do not change, only the schema text).

    This is SQLite's documented procedure for a schema change that leaves the stored format alone; PostgreSQL
    replaces the constraint.
    """
    if is_postgres(db.conn):
        db.execute("ALTER TABLE violations DROP CONSTRAINT violations_decided_by_fkey")
        db.execute(
            "ALTER TABLE violations ADD CONSTRAINT violations_decided_by_fkey FOREIGN KEY (decided_by) "
            + _NEW_REFERENCE
        )
        return
    version = int(db.execute("PRAGMA schema_version").fetchone()[0])
    db.execute("PRAGMA writable_schema = ON")
    db.execute(
        "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'violations'",
        (_OLD_REFERENCE, _NEW_REFERENCE),
    )
    db.execute(f"PRAGMA schema_version = {version + 1}")
    db.execute("PRAGMA writable_schema = OFF")


def apply(db: sqlite_utils.Database) -> None:
    """Merge operators into users and operator sessions into sessions."""
    db.execute(USERS)
    db.execute(SESSIONS)
    _copy_accounts(db)
    db.execute("DROP TABLE sessions")
    db.execute("DROP TABLE users")
    db.execute("ALTER TABLE users_v2 RENAME TO users")
    db.execute("ALTER TABLE sessions_v2 RENAME TO sessions")
    db.execute("CREATE INDEX sessions_user ON sessions(user_id)")
    db.execute("CREATE INDEX users_district ON users(district) WHERE district IS NOT NULL")
    _refer_violations_to_users(db)
    db.execute("DROP TABLE operator_sessions")
    db.execute("DROP TABLE operators")
    problems = db.execute("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"merging operators into users left dangling references: {problems[:5]}")
