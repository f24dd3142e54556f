"""The one login system: accounts of every role, passwords, sessions and the principal of a request.

Roles: ``school_admin`` and ``staff`` (of a school), ``guardian`` (of a family in a school), ``operator`` (reviews
the traffic violations of one district) and ``platform_admin`` (the admin token from the settings; it bootstraps
schools and operators). Passwords are hashed with scrypt (N=2^17, r=8, p=1: current guidance) and a per-user salt;
an older, cheaper hash is replaced at the next successful login. Session tokens are random and stored only as SHA-256
hashes. A request authenticates with ``Authorization: Bearer <session token>`` (API) or the ``kuzet_session`` cookie
(pages).

Throttling, whatever the role: every attempt is counted in the same write transaction that checks the limits, before
the password is checked, so parallel guesses cannot all pass the check. Limits per (client, user name), per client
and per user name (the last one higher: one stranger cannot lock the owner out, who logs in from another client).

The functions raise ``backend.services.errors``; the request dependencies built on them (``current_principal``,
``school_role``, ``operator_only``, ...) are ``backend.deps``'s.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
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
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
SCRYPT_MAXMEM = 2**28
MAX_SCRYPT_N = 2**20
PLATFORM_ADMIN_ID = "platform-admin"
TOKEN_SUBJECT = "#token"
_HASHING = threading.BoundedSemaphore(2)
"""At most two hashes at once (128 MiB each): parallel logins queue instead of exhausting memory."""


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    with _HASHING:
        return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=SCRYPT_MAXMEM)


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` with a fresh 16-byte salt, at the module's current parameters."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of a password against its stored scrypt hash."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    n, r, p = (int(x) for x in parts[1:4])
    if not (2 <= n <= MAX_SCRYPT_N and 1 <= r <= 32 and 1 <= p <= 16):
        return False
    digest = _scrypt(password, bytes.fromhex(parts[4]), n, r, p)
    return hmac.compare_digest(digest.hex(), parts[5])


def needs_rehash(stored: str) -> bool:
    """Whether a stored hash is cheaper than the current parameters (replaced at the next successful login)."""
    parts = stored.split("$")
    return len(parts) != 6 or parts[0] != "scrypt" or (int(parts[1]), int(parts[2])) < (SCRYPT_N, SCRYPT_R)


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


_DUMMY: dict[int, str] = {}


def _dummy_hash() -> str:
    """A hash at the current parameters to check unknown user names against (similar time as a known one)."""
    if SCRYPT_N not in _DUMMY:
        _DUMMY[SCRYPT_N] = hash_password(secrets.token_hex(16))
    return _DUMMY[SCRYPT_N]


def _reserve(db: sqlite_utils.Database, client: str, username: str, settings: SchoolSettings) -> None:
    """Count this attempt before the password is checked, in the transaction that checks the limits.

    Raises:
        TooManyRequestsError: the client, the (client, name) pair or the name has too many recent attempts.
    """
    now = datetime.now(UTC)
    window = timedelta(minutes=settings.login_lockout_minutes)
    with transaction(db) as conn:
        users.forget_attempts_before(conn, (now - window).isoformat())
        counts = users.attempts_since(conn, client, username, (now - window).isoformat())
        over = (
            counts.pair >= settings.login_max_failures
            or counts.client >= settings.login_client_max_failures
            or counts.account >= settings.login_account_max_failures
        )
        if not over:
            users.add_attempt(conn, client, username, now.isoformat())
    if over:
        raise TooManyRequestsError(
            "Too many attempts",
            f"too many failed logins; wait {settings.login_lockout_minutes:g} minutes",
            retry_after_s=int(window.total_seconds()),
        )


def login(
    db: sqlite_utils.Database,
    credentials: tuple[str, str],
    settings: SchoolSettings,
    roles: Collection[str] | None = None,
    client: str = "unknown",
) -> tuple[str, Principal]:
    """Count the attempt, check the credentials (outside any write lock: scrypt is slow) and open a session.

    Args:
        roles: the roles that may log in this way (None: every role).
        client: the caller's network address (throttled per client and per (client, user name)).

    Raises:
        TooManyRequestsError: over a limit of ``_reserve`` (the password is then not checked at all).
        UnauthenticatedError: the user is unknown or disabled, the password is wrong, or the role is not in
            ``roles`` (the same message and similar time for all).
    """
    username, password = credentials
    _reserve(db, client, username, settings)
    account = users.by_username(db.conn, username)
    matches = verify_password(password, account.password_hash if account else _dummy_hash())
    ok = matches and account is not None and account.disabled_at is None and (roles is None or account.role in roles)
    if not ok or account is None:
        raise UnauthenticatedError("Wrong credentials", "the user name or password is wrong; check both and retry")
    rehashed = hash_password(password) if needs_rehash(account.password_hash) else None
    with transaction(db) as conn:
        users.clear_attempts(conn, client, username)
        if rehashed is not None:
            users.set_password_hash(conn, account.user_id, rehashed)
        token = create_session(conn, account.user_id, settings.session_hours)
    return token, _principal(account)


def check_token_throttle(db: sqlite_utils.Database, client: str, settings: SchoolSettings) -> None:
    """Refuse a client that presented too many wrong bearer tokens (admin token guessing) recently.

    Raises:
        TooManyRequestsError: ``token_max_failures`` wrong tokens within ``login_lockout_minutes``.
    """
    since = (datetime.now(UTC) - timedelta(minutes=settings.login_lockout_minutes)).isoformat()
    if users.attempts_since(db.conn, client, TOKEN_SUBJECT, since).pair >= settings.token_max_failures:
        raise TooManyRequestsError(
            "Too many attempts", f"too many wrong tokens; wait {settings.login_lockout_minutes:g} minutes"
        )


def record_token_failure(db: sqlite_utils.Database, client: str) -> None:
    """Count a wrong bearer token of a client."""
    with transaction(db) as conn:
        users.add_attempt(conn, client, TOKEN_SUBJECT, datetime.now(UTC).isoformat())


def logout(conn: sqlite3.Connection, user_id: str) -> None:
    """End every session of an account."""
    users.end_sessions(conn, user_id)


def session_principal(conn: sqlite3.Connection, token: str) -> Principal | None:
    """The principal of an unexpired session token of an enabled account, else None."""
    account = users.by_session(conn, security.hash_secret(token), datetime.now(UTC).isoformat())
    return None if account is None else _principal(account)


def principal_of_token(conn: sqlite3.Connection, token: str, admin_token: str | None) -> Principal | None:
    """The platform admin for the admin token (when ``admin_token`` is given), else the session's, else None."""
    if admin_token is not None and hmac.compare_digest(security.hash_secret(token), security.hash_secret(admin_token)):
        return Principal("platform_admin", PLATFORM_ADMIN_ID)
    return session_principal(conn, token)


def is_operator(principal: Principal | None) -> bool:
    """Whether this is a logged-in operator of a district."""
    return principal is not None and principal.role == "operator" and principal.district is not None


def audit_device(conn: sqlite3.Connection, camera_id: str, school_id: str, action: str, subject: str) -> None:
    """Record a device reading children's data (a door camera pulling its school's face gallery)."""
    audit_store.add(conn, datetime.now(UTC).isoformat(), (camera_id, "device"), school_id, action, subject)


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
