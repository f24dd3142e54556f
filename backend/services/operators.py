"""Traffic operators: accounts bound to one district, their sessions, and the request dependency.

An operator reviews the violations of the traffic cameras whose ``site`` is the operator's district, and nothing
else. Passwords use the same scrypt hashing as school users (``backend.services.auth``); session tokens are random
and stored only as SHA-256 hashes. A request authenticates with ``Authorization: Bearer <token>`` (API) or the
``kuzet_operator`` cookie (review pages). Accounts are created by the platform admin
(``POST /api/v1/operators`` with the admin token).
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Cookie, Depends, Header

from backend import security
from backend.deps import DbDep
from backend.errors import Problem
from backend.services.auth import hash_password, verify_password

OPERATOR_COOKIE = "kuzet_operator"
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")
MIN_PASSWORD = 10


@dataclass(frozen=True, slots=True)
class Operator:
    """A logged-in operator and the district whose cameras it may review."""

    operator_id: str
    username: str
    district: str


def create_operator(conn: sqlite3.Connection, username: str, password: str, district: str) -> Operator:
    """Add an operator account.

    Raises:
        Problem: 422 for a malformed user name or a short password, 409 when the user name is taken.
    """
    if not USERNAME.match(username):
        raise Problem(422, "Bad user name", "use 2-64 letters, digits, '_', '.', '@' or '-'")
    if len(password) < MIN_PASSWORD:
        raise Problem(422, "Weak password", f"the password needs at least {MIN_PASSWORD} characters")
    if conn.execute("SELECT 1 FROM operators WHERE username = ?", (username,)).fetchone():
        raise Problem(409, "User name taken", f"an operator {username!r} exists; choose another name")
    operator = Operator(uuid.uuid4().hex, username, district)
    conn.execute(
        "INSERT INTO operators(operator_id, username, password_hash, district, created_at) VALUES (?, ?, ?, ?, ?)",
        (operator.operator_id, username, hash_password(password), district, datetime.now(UTC).isoformat()),
    )
    return operator


def login_operator(conn: sqlite3.Connection, username: str, password: str, hours: float) -> tuple[str, Operator]:
    """Check the credentials and open a session; returns the token (shown once) and the operator.

    Raises:
        Problem: 401 with one message for an unknown user, a wrong password or a disabled account.
    """
    row = conn.execute(
        "SELECT operator_id, password_hash, district, disabled_at FROM operators WHERE username = ?", (username,)
    ).fetchone()
    if row is None or row[3] is not None or not verify_password(password, row[1]):
        raise Problem(401, "Wrong credentials", "the user name or password is wrong; check both and retry")
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    conn.execute(
        "INSERT INTO operator_sessions(token_hash, operator_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        (security.hash_secret(token), row[0], now.isoformat(), (now + timedelta(hours=hours)).isoformat()),
    )
    return token, Operator(row[0], username, row[2])


def operator_for_token(conn: sqlite3.Connection, token: str) -> Operator | None:
    """The operator of an unexpired session of an enabled account, else None."""
    row = conn.execute(
        "SELECT o.operator_id, o.username, o.district, s.expires_at FROM operator_sessions s"
        " JOIN operators o ON o.operator_id = s.operator_id WHERE s.token_hash = ? AND o.disabled_at IS NULL",
        (security.hash_secret(token),),
    ).fetchone()
    if row is None or row[3] <= datetime.now(UTC).isoformat():
        return None
    return Operator(row[0], row[1], row[2])


def logout_operator(conn: sqlite3.Connection, operator_id: str) -> None:
    """End every session of an operator."""
    conn.execute("DELETE FROM operator_sessions WHERE operator_id = ?", (operator_id,))


def disable_operator(conn: sqlite3.Connection, username: str) -> None:
    """Disable an account and end its sessions (its past decisions and audit rows stay).

    Raises:
        Problem: 404 when there is no such operator.
    """
    now = datetime.now(UTC).isoformat()
    row = conn.execute("SELECT operator_id FROM operators WHERE username = ?", (username,)).fetchone()
    if row is None:
        raise Problem(404, "Unknown operator", f"no operator {username!r}")
    conn.execute("UPDATE operators SET disabled_at = COALESCE(disabled_at, ?) WHERE operator_id = ?", (now, row[0]))
    logout_operator(conn, row[0])


def list_operators(conn: sqlite3.Connection) -> list[dict[str, str | None]]:
    """Every operator account (no password hashes)."""
    rows = conn.execute(
        "SELECT operator_id, username, district, created_at, disabled_at FROM operators ORDER BY district, username"
    ).fetchall()
    keys = ("operator_id", "username", "district", "created_at", "disabled_at")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def session_token(authorization: str | None, cookie: str | None) -> str | None:
    """The presented session token: the Bearer header first, else the cookie."""
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return cookie or None


def current_operator(
    db: DbDep,
    authorization: Annotated[str | None, Header()] = None,
    kuzet_operator: Annotated[str | None, Cookie()] = None,
) -> Operator:
    """Authenticate an operator by session token (Bearer or cookie)."""
    token = session_token(authorization, kuzet_operator)
    if token is None:
        raise Problem(401, "Login required", "log in at /review/login or send 'Authorization: Bearer <token>'")
    operator = operator_for_token(db.conn, token)
    if operator is None:
        raise Problem(401, "Session expired", "the operator session is unknown or expired; log in again")
    return operator


OperatorDep = Annotated[Operator, Depends(current_operator)]
