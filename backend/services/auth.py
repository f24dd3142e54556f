"""The one login system: accounts of every role, passwords, sessions and the principal of a request.

Roles: ``school_admin`` and ``staff`` (of a school), ``guardian`` (of a family in a school), ``operator`` (reviews
the traffic violations of one district) and ``platform_admin`` (the admin token from the settings; it bootstraps
schools and operators). Passwords are hashed with scrypt and a per-user salt; session tokens are random and stored
only as SHA-256 hashes. A request authenticates with ``Authorization: Bearer <session token>`` (API) or the
``kuzet_session`` cookie (pages); repeated failed logins of a user name are throttled, whatever the role.

The functions raise ``backend.services.errors``; the request dependencies built on them (``current_principal``,
``school_role``, ``operator_only``, ...) are ``backend.deps``'s.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, cast

import sqlite_utils

from backend import security
from backend.db import transaction
from backend.services.errors import TooManyRequestsError, UnauthenticatedError
from backend.settings import SchoolSettings
from backend.store import audit as audit_store
from backend.store import users

SESSION_COOKIE = "kuzet_session"
Role = Literal["platform_admin", "school_admin", "staff", "guardian", "operator"]
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
PLATFORM_ADMIN_ID = "platform-admin"


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
    """Who is calling: a role, the school it belongs to, the family (guardians) or the district (operators)."""

    role: Role
    user_id: str
    school_id: str | None = None
    guardian_id: str | None = None
    district: str | None = None
    username: str = ""


def _principal(login: users.Login) -> Principal:
    role = cast(Role, login.role)
    return Principal(role, login.user_id, login.school_id, login.guardian_id, login.district, login.username)


def create_session(conn: sqlite3.Connection, user_id: str, hours: float) -> str:
    """Store a new session for ``user_id`` and return its token (shown once)."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    users.add_session(
        conn, security.hash_secret(token), user_id, now.isoformat(), (now + timedelta(hours=hours)).isoformat()
    )
    return token


_DUMMY_HASH = hash_password(secrets.token_hex(16))


def login(
    db: sqlite_utils.Database,
    credentials: tuple[str, str],
    settings: SchoolSettings,
    roles: Collection[str] | None = None,
) -> tuple[str, Principal]:
    """Check the credentials (outside any write lock: scrypt is slow) and open a session.

    Args:
        roles: the roles that may log in this way (None: every role).

    Raises:
        TooManyRequestsError: after ``login_max_failures`` failures within ``login_lockout_minutes``.
        UnauthenticatedError: the user is unknown or disabled, the password is wrong, or the role is not in
            ``roles`` (the same message and similar time for all).
    """
    username, password = credentials
    now = datetime.now(UTC)
    since = (now - timedelta(minutes=settings.login_lockout_minutes)).isoformat()
    failures = users.failures_since(db.conn, username, since)
    if failures >= settings.login_max_failures:
        raise TooManyRequestsError(
            "Too many attempts", f"{failures} failed logins; wait {settings.login_lockout_minutes:g} minutes"
        )
    account = users.by_username(db.conn, username)
    matches = verify_password(password, account.password_hash if account else _DUMMY_HASH)
    ok = matches and account is not None and account.disabled_at is None and (roles is None or account.role in roles)
    with transaction(db) as conn:
        if not ok or account is None:
            users.add_failure(conn, username, now.isoformat())
        else:
            users.clear_failures(conn, username)
            token = create_session(conn, account.user_id, settings.session_hours)
    if not ok or account is None:
        raise UnauthenticatedError("Wrong credentials", "the user name or password is wrong; check both and retry")
    return token, _principal(account)


def logout(conn: sqlite3.Connection, user_id: str) -> None:
    """End every session of an account."""
    users.end_sessions(conn, user_id)


def session_principal(conn: sqlite3.Connection, token: str) -> Principal | None:
    """The principal of an unexpired session token of an enabled account, else None."""
    account = users.by_session(conn, security.hash_secret(token), datetime.now(UTC).isoformat())
    return None if account is None else _principal(account)


def principal_of_token(conn: sqlite3.Connection, token: str, admin_token: str) -> Principal | None:
    """The platform admin for the admin token, else the principal of the session, else None."""
    if hmac.compare_digest(security.hash_secret(token), security.hash_secret(admin_token)):
        return Principal("platform_admin", PLATFORM_ADMIN_ID)
    return session_principal(conn, token)


def is_operator(principal: Principal | None) -> bool:
    """Whether this is a logged-in operator of a district."""
    return principal is not None and principal.role == "operator" and principal.district is not None


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
    now = datetime.now(UTC)
    if quiet_minutes > 0:
        since = (now - timedelta(minutes=quiet_minutes)).isoformat()
        if audit_store.recently_done(conn, principal.user_id, action, subject, since):
            return
    audit_store.add(conn, now.isoformat(), (principal.user_id, principal.role), school_id, action, subject)
