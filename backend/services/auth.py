"""Users, passwords, sessions and the principal of a request (roles checked against the school and family).

Passwords are hashed with scrypt and a per-user salt; session tokens are random and stored only as SHA-256 hashes.
A request authenticates with ``Authorization: Bearer <session token>`` (API) or the ``kuzet_session`` cookie
(pages); the platform admin token from the settings is the ``platform_admin`` principal (it bootstraps schools).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import sqlite_utils
from fastapi import Cookie, Depends, Header

from backend import security
from backend.db import transaction
from backend.deps import DbDep, SettingsDep
from backend.errors import Problem
from backend.settings import SchoolSettings

SESSION_COOKIE = "kuzet_session"
Role = Literal["platform_admin", "school_admin", "staff", "guardian"]
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of a password against its stored scrypt hash."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    n, r, p = (int(x) for x in parts[1:4])
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(parts[4]), n=n, r=r, p=p, dklen=32)
    return hmac.compare_digest(digest.hex(), parts[5])


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a role, the school it belongs to and, for guardians, the family (guardian id)."""

    role: Role
    user_id: str
    school_id: str | None = None
    guardian_id: str | None = None


def create_session(conn: sqlite3.Connection, user_id: str, hours: float) -> str:
    """Store a new session for ``user_id`` and return its token (shown once)."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    conn.execute(
        "INSERT INTO sessions(token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        (security.hash_secret(token), user_id, now.isoformat(), (now + timedelta(hours=hours)).isoformat()),
    )
    return token


_DUMMY_HASH = hash_password(secrets.token_hex(16))


def login(db: sqlite_utils.Database, credentials: tuple[str, str], settings: SchoolSettings) -> tuple[str, Principal]:
    """Check the credentials (outside any write lock: scrypt is slow) and open a session.

    Raises:
        Problem: 429 after ``login_max_failures`` failures within ``login_lockout_minutes``; 401 when the user is
            unknown or the password is wrong (the same message and similar time for both).
    """
    username, password = credentials
    now = datetime.now(UTC)
    since = (now - timedelta(minutes=settings.login_lockout_minutes)).isoformat()
    failures = db.execute(
        "SELECT COUNT(*) FROM login_failures WHERE username = ? AND at > ?", (username, since)
    ).fetchone()[0]
    if failures >= settings.login_max_failures:
        raise Problem(
            429, "Too many attempts", f"{failures} failed logins; wait {settings.login_lockout_minutes:g} minutes"
        )
    row = db.execute(
        "SELECT user_id, password_hash, role, school_id, guardian_id FROM users WHERE username = ?", (username,)
    ).fetchone()
    ok = verify_password(password, row[1] if row else _DUMMY_HASH) and row is not None
    with transaction(db) as conn:
        if not ok:
            conn.execute("INSERT INTO login_failures(username, at) VALUES (?, ?)", (username, now.isoformat()))
        else:
            conn.execute("DELETE FROM login_failures WHERE username = ?", (username,))
            token = create_session(conn, row[0], settings.session_hours)
    if not ok:
        raise Problem(401, "Wrong credentials", "the user name or password is wrong; check both and retry")
    return token, Principal(row[2], row[0], row[3], row[4])


def session_principal(conn: sqlite3.Connection, token: str) -> Principal | None:
    """The principal of an unexpired session token, else None."""
    row = conn.execute(
        "SELECT u.user_id, u.role, u.school_id, u.guardian_id, s.expires_at FROM sessions s"
        " JOIN users u ON u.user_id = s.user_id WHERE s.token_hash = ?",
        (security.hash_secret(token),),
    ).fetchone()
    if row is None or row[4] <= datetime.now(UTC).isoformat():
        return None
    return Principal(row[1], row[0], row[2], row[3])


def current_principal(
    db: DbDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
    kuzet_session: Annotated[str | None, Cookie()] = None,
) -> Principal:
    """Authenticate a person by session token (Bearer or cookie) or the platform admin token."""
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    token = token or kuzet_session
    if not token:
        raise Problem(401, "Login required", "log in at /login or send 'Authorization: Bearer <session token>'")
    if hmac.compare_digest(security.hash_secret(token), security.hash_secret(settings.admin_token)):
        return Principal("platform_admin", "platform-admin")
    principal = session_principal(db.conn, token)
    if principal is None:
        raise Problem(401, "Session expired", "the session is unknown or expired; log in again")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def school_role(*roles: Role) -> Callable[[str, Principal], Principal]:
    """A dependency: the caller has one of ``roles`` in the school of the ``school_id`` path parameter."""

    def check(school_id: str, principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Problem(403, "Not allowed", f"role {principal.role} may not do this; it needs one of {list(roles)}")
        if principal.role != "platform_admin" and principal.school_id != school_id:
            raise Problem(403, "Other school", "this account belongs to another school")
        return principal

    return check


def platform_admin(principal: PrincipalDep) -> Principal:
    """Only the platform admin (settings.admin_token)."""
    if principal.role != "platform_admin":
        raise Problem(403, "Not allowed", "only the platform admin token may do this")
    return principal


def guardian_only(principal: PrincipalDep) -> Principal:
    """Only a logged-in guardian."""
    if principal.role != "guardian" or principal.guardian_id is None:
        raise Problem(403, "Not allowed", "only a guardian account may open the parents' view")
    return principal


AdminOf = Annotated[Principal, Depends(school_role("school_admin"))]
StaffOf = Annotated[Principal, Depends(school_role("school_admin", "staff"))]
BootstrapOf = Annotated[Principal, Depends(school_role("platform_admin", "school_admin"))]
MemberOf = Annotated[Principal, Depends(school_role("school_admin", "staff", "guardian"))]
PlatformAdmin = Annotated[Principal, Depends(platform_admin)]
GuardianDep = Annotated[Principal, Depends(guardian_only)]


def audit(
    conn: sqlite3.Connection,
    principal: Principal,
    school_id: str | None,
    action: str,
    subject: str,
    quiet_minutes: float = 0.0,
) -> None:
    """Record who viewed, exported or changed whose data.

    Args:
        quiet_minutes: skip the record when the same actor did the same to the same subject this recently (a page
            polling for live updates is one view, not one per poll).
    """
    if quiet_minutes > 0:
        since = (datetime.now(UTC) - timedelta(minutes=quiet_minutes)).isoformat()
        if conn.execute(
            "SELECT 1 FROM audit_log WHERE actor = ? AND action = ? AND subject = ? AND at > ? LIMIT 1",
            (principal.user_id, action, subject, since),
        ).fetchone():
            return
    conn.execute(
        "INSERT INTO audit_log(at, actor, role, school_id, action, subject) VALUES (?, ?, ?, ?, ?, ?)",
        (datetime.now(UTC).isoformat(), principal.user_id, principal.role, school_id, action, subject),
    )
