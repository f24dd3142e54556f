"""Traffic operator accounts: ``users`` with role ``operator``, bound to one district, managed by the platform admin.

An operator reviews the violations of the traffic cameras whose ``site`` is the operator's district, and nothing
else. Operators log in like everyone else (``backend.services.auth``: one session system, one cookie);
``POST /api/v1/operators/login`` stays as an alias that only operators may use. Accounts are created, listed and
disabled by the platform admin (``/api/v1/operators`` with the admin token). Each operator gets an Ed25519
signing key at creation (``backend.services.handoff``: an uploaded public key the operator's client holds the
private half of, or a server-generated key sealed per operator) that signs their hand-offs to the police.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from datetime import UTC, datetime

from backend.services import handoff
from backend.services.auth import hash_password, logout
from backend.services.errors import BadInputError, ConflictError, NotFoundError
from backend.store import handoffs, users
from backend.store.users import OperatorRow

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")
MIN_PASSWORD = 10
ROLE = "operator"


def create_operator(
    conn: sqlite3.Connection,
    username: str,
    password: str,
    district: str,
    contact: tuple[str | None, str] = (None, "ru"),
    key: tuple[str | None, bytes] = (None, b""),
) -> OperatorRow:
    """Add an operator account with its signing key; ``contact`` is (e-mail for camera-health alerts or None,
    their language), ``key`` is (the public key the operator's client holds, or None for a sealed server-side key;
    the server's master key that seals it).

    Raises:
        BadInputError: a malformed user name or a short password.
        ConflictError: the user name is taken (by an operator or any other account).
    """
    if not USERNAME.match(username):
        raise BadInputError("Bad user name", "use 2-64 letters, digits, '_', '.', '@' or '-'")
    if len(password) < MIN_PASSWORD:
        raise BadInputError("Weak password", f"the password needs at least {MIN_PASSWORD} characters")
    operator = OperatorRow(uuid.uuid4().hex, username, district, datetime.now(UTC).isoformat(), None)
    if not users.add_operator(conn, operator, hash_password(password), contact):
        raise ConflictError("User name taken", f"an account {username!r} exists; choose another name")
    handoffs.add_key(conn, handoff.new_key(operator.operator_id, key[0], key[1]))
    return operator


def disable_operator(conn: sqlite3.Connection, username: str) -> None:
    """Disable an account and end its sessions (its past decisions and audit rows stay).

    Raises:
        NotFoundError: there is no such operator.
    """
    operator_id = users.operator_id(conn, username)
    if operator_id is None:
        raise NotFoundError("Unknown operator", f"no operator {username!r}")
    users.disable(conn, operator_id, datetime.now(UTC).isoformat())
    logout(conn, operator_id)


def list_operators(conn: sqlite3.Connection) -> list[dict[str, str | None]]:
    """Every operator account with its public signing key and custody (no password hashes, no private keys)."""
    out: list[dict[str, str | None]] = []
    for o in users.operators(conn):
        key = handoffs.key_of(conn, o.operator_id)
        out.append(
            {
                "operator_id": o.operator_id,
                "username": o.username,
                "district": o.district,
                "created_at": o.created_at,
                "disabled_at": o.disabled_at,
                "public_key": None if key is None else key.public_key,
                "key_custody": None if key is None else key.custody,
            }
        )
    return out


def issue_key(conn: sqlite3.Connection, username: str, public_key: str | None, master: bytes) -> dict[str, str]:
    """Give an operator a new signing key (an account from before operator keys, a lost or rotated key): the
    uploaded public key their client holds, or a new sealed one. Past hand-offs keep the key they were signed with.

    Raises:
        NotFoundError: there is no such operator.
        BadInputError: a malformed public key.
    """
    operator_id = users.operator_id(conn, username)
    if operator_id is None:
        raise NotFoundError("Unknown operator", f"no operator {username!r}")
    handoffs.add_key(conn, handoff.new_key(operator_id, public_key, master))
    return signing_key(conn, operator_id) or {}


def signing_key(conn: sqlite3.Connection, operator_id: str) -> dict[str, str] | None:
    """The operator's public signing key and custody, or None."""
    key = handoffs.key_of(conn, operator_id)
    return None if key is None else {"public_key": key.public_key, "custody": key.custody}
