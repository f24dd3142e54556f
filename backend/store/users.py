"""Logins: user accounts of every role, their sessions, failed logins, and the operators of traffic districts.

One ``users`` table holds school admins, staff, guardians (``school_id``, ``guardian_id``) and traffic operators
(``district``, no school); one ``sessions`` table holds the SHA-256 hashes of their session tokens. Here is every
statement on them: logging in, sessions and failures, the accounts a school's admins create, list and delete, the
staff who get alerts, and the operators the platform admin manages. Times are ISO-8601 UTC strings, compared as text.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from backend.store.dialect import try_insert


@dataclass(frozen=True, slots=True)
class Login:
    """An account as a login sees it (with the password hash, never shown)."""

    user_id: str
    username: str
    password_hash: str
    role: str
    school_id: str | None
    guardian_id: str | None
    district: str | None
    disabled_at: str | None


@dataclass(frozen=True, slots=True)
class OperatorRow:
    """An operator account as the platform admin lists it."""

    operator_id: str
    username: str
    district: str
    created_at: str
    disabled_at: str | None


_LOGIN = "u.user_id, u.username, u.password_hash, u.role, u.school_id, u.guardian_id, u.district, u.disabled_at"


def by_username(conn: sqlite3.Connection, username: str) -> Login | None:
    """The account with this user name (enabled or not), else None."""
    row = conn.execute(f"SELECT {_LOGIN} FROM users u WHERE u.username = :username", {"username": username}).fetchone()
    return None if row is None else Login(*row)


def by_session(conn: sqlite3.Connection, token_hash: str, now: str) -> Login | None:
    """The enabled account of an unexpired session, else None."""
    row = conn.execute(
        f"SELECT {_LOGIN} FROM sessions s JOIN users u ON u.user_id = s.user_id"
        " WHERE s.token_hash = :token_hash AND s.expires_at > :now AND u.disabled_at IS NULL",
        {"token_hash": token_hash, "now": now},
    ).fetchone()
    return None if row is None else Login(*row)


def add_session(conn: sqlite3.Connection, token_hash: str, user_id: str, created_at: str, expires_at: str) -> None:
    """Store a session (only the hash of its token)."""
    conn.execute(
        "INSERT INTO sessions(token_hash, user_id, created_at, expires_at)"
        " VALUES (:token_hash, :user_id, :created_at, :expires_at)",
        {"token_hash": token_hash, "user_id": user_id, "created_at": created_at, "expires_at": expires_at},
    )


def end_sessions(conn: sqlite3.Connection, user_id: str) -> None:
    """Delete every session of an account."""
    conn.execute("DELETE FROM sessions WHERE user_id = :user_id", {"user_id": user_id})


@dataclass(frozen=True, slots=True)
class AttemptCounts:
    """Login attempts after a time: of this client for this name, of this client for any name, of this name."""

    pair: int
    client: int
    account: int


def attempts_since(conn: sqlite3.Connection, client: str, username: str, since: str) -> AttemptCounts:
    """Counted login attempts (reserved, failed) after ``since``."""
    params = {"client": client, "username": username, "since": since}
    row = conn.execute(
        "SELECT"
        " (SELECT COUNT(*) FROM login_attempts WHERE client = :client AND username = :username AND at > :since),"
        " (SELECT COUNT(*) FROM login_attempts WHERE client = :client AND username NOT LIKE '#%' AND at > :since),"
        " (SELECT COUNT(*) FROM login_attempts WHERE username = :username AND at > :since)",
        params,
    ).fetchone()
    return AttemptCounts(int(row[0]), int(row[1]), int(row[2]))


def add_attempt(conn: sqlite3.Connection, client: str, username: str, at: str) -> None:
    """Count a login attempt (before its password is checked) or a wrong token (``username`` ``#token``)."""
    conn.execute(
        "INSERT INTO login_attempts(client, username, at) VALUES (:client, :username, :at)",
        {"client": client, "username": username, "at": at},
    )


def clear_attempts(conn: sqlite3.Connection, client: str, username: str) -> None:
    """Forget the attempts of this client for this name (after a successful login); strangers' stay counted."""
    conn.execute(
        "DELETE FROM login_attempts WHERE client = :client AND username = :username",
        {"client": client, "username": username},
    )


def forget_attempts_before(conn: sqlite3.Connection, before: str) -> None:
    """Drop attempts older than every throttle window."""
    conn.execute("DELETE FROM login_attempts WHERE at < :before", {"before": before})


def set_password_hash(conn: sqlite3.Connection, user_id: str, password_hash: str) -> None:
    """Replace an account's password hash (a rehash at current parameters after a successful login)."""
    conn.execute(
        "UPDATE users SET password_hash = :password_hash WHERE user_id = :user_id",
        {"password_hash": password_hash, "user_id": user_id},
    )


def add_operator(
    conn: sqlite3.Connection, operator: OperatorRow, password_hash: str, contact: tuple[str | None, str] = (None, "ru")
) -> bool:
    """Create an operator account (a ``users`` row with role ``operator``); False when the name or id is taken.

    ``contact`` is (e-mail address or None, language) for the alerts of the district's cameras.
    """
    return try_insert(
        conn,
        "INSERT INTO users(user_id, username, password_hash, role, created_at, district, disabled_at, email, language)"
        " VALUES (:user_id, :username, :password_hash, 'operator', :created_at, :district, :disabled_at, :email,"
        " :language)",
        {
            "email": contact[0],
            "language": contact[1],
            "user_id": operator.operator_id,
            "username": operator.username,
            "password_hash": password_hash,
            "created_at": operator.created_at,
            "district": operator.district,
            "disabled_at": operator.disabled_at,
        },
    )


def operator_id(conn: sqlite3.Connection, username: str) -> str | None:
    """The user id of the operator with this user name, else None."""
    sql = "SELECT user_id FROM users WHERE username = :username AND role = 'operator'"
    row = conn.execute(sql, {"username": username}).fetchone()
    return None if row is None else str(row[0])


def disable(conn: sqlite3.Connection, user_id: str, at: str) -> None:
    """Mark an account disabled (the first time only); its sessions are ended separately."""
    conn.execute(
        "UPDATE users SET disabled_at = COALESCE(disabled_at, :at) WHERE user_id = :user_id",
        {"at": at, "user_id": user_id},
    )


def operators(conn: sqlite3.Connection) -> list[OperatorRow]:
    """Every operator account, by district and user name."""
    rows = conn.execute(
        "SELECT user_id, username, district, created_at, disabled_at FROM users WHERE role = 'operator'"
        " ORDER BY district, username"
    )
    return [OperatorRow(*r) for r in rows]


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
