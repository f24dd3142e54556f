"""The accounts of a school as its admins manage them (``users`` rows with a ``school_id``).

Logins, sessions and password checks are ``backend.store.users``'; this module is what the school's own pages need:
create, list and delete the accounts of one school, and the staff who get alerts.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from backend.store.dialect import try_insert


@dataclass(frozen=True, slots=True)
class Account:
    """An account of a school (never its password hash)."""

    user_id: str
    username: str
    role: str
    guardian_id: str | None


@dataclass(frozen=True, slots=True)
class NewAccount:
    """An account to create, its password already hashed."""

    user_id: str
    username: str
    password_hash: str
    role: str
    school_id: str
    guardian_id: str | None
    email: str | None
    language: str
    created_at: str


@dataclass(frozen=True, slots=True)
class StaffContact:
    """A staff member or school admin with an e-mail address for alerts."""

    user_id: str
    email: str
    language: str


def insert(conn: sqlite3.Connection, account: NewAccount) -> bool:
    """Create an account; False when the user name (or id) is taken."""
    return try_insert(
        conn,
        "INSERT INTO users(user_id, username, password_hash, role, school_id, guardian_id, email, language, created_at)"
        " VALUES (:user_id, :username, :password_hash, :role, :school_id, :guardian_id, :email, :language,"
        " :created_at)",
        {"user_id": account.user_id, "username": account.username, "password_hash": account.password_hash,
         "role": account.role, "school_id": account.school_id, "guardian_id": account.guardian_id,
         "email": account.email, "language": account.language, "created_at": account.created_at},
    )  # fmt: skip


def of_school(conn: sqlite3.Connection, school_id: str) -> list[Account]:
    """Accounts of a school by user name."""
    sql = "SELECT user_id, username, role, guardian_id FROM users WHERE school_id = :school_id ORDER BY username"
    return [Account(*r) for r in conn.execute(sql, {"school_id": school_id})]


def in_school(conn: sqlite3.Connection, school_id: str, user_id: str) -> bool:
    """Whether ``user_id`` is an account of this school."""
    sql = "SELECT 1 FROM users WHERE user_id = :user_id AND school_id = :school_id"
    return conn.execute(sql, {"user_id": user_id, "school_id": school_id}).fetchone() is not None


def delete(conn: sqlite3.Connection, user_id: str) -> None:
    """Delete an account (its sessions go by cascade)."""
    conn.execute("DELETE FROM users WHERE user_id = :user_id", {"user_id": user_id})


def staff_contacts(conn: sqlite3.Connection, school_id: str) -> list[StaffContact]:
    """Staff and school admins of a school who have an e-mail address, by user id."""
    rows = conn.execute(
        "SELECT user_id, email, language FROM users WHERE school_id = :school_id"
        " AND role IN ('school_admin', 'staff') AND email IS NOT NULL ORDER BY user_id",
        {"school_id": school_id},
    )
    return [StaffContact(*r) for r in rows]
