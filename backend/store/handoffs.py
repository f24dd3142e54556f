"""Operators' signing keys (``operator_keys``) and the officer-signed hand-offs sent to the police."""

from __future__ import annotations

import sqlite3
from dataclasses import astuple, dataclass, fields


@dataclass(frozen=True, slots=True)
class OperatorKey:
    """An operator's Ed25519 key: public key (hex), custody (``client`` / ``sealed``), the sealed private key."""

    operator_id: str
    public_key: str
    custody: str
    sealed_private_key: str | None
    created_at: str


@dataclass(frozen=True, slots=True)
class Handoff:
    """The signed payload of one confirmed violation, exactly as sent."""

    violation_id: str
    operator_id: str
    public_key: str
    payload: str
    signature: str
    signed_at: str


_KEY = tuple(f.name for f in fields(OperatorKey))
_HANDOFF = tuple(f.name for f in fields(Handoff))


def add_key(conn: sqlite3.Connection, key: OperatorKey) -> None:
    """Store an operator's key (one per operator; a new one replaces the old, whose hand-offs keep their key)."""
    conn.execute(
        f"INSERT INTO operator_keys({', '.join(_KEY)}) VALUES ({', '.join(f':{n}' for n in _KEY)})"
        " ON CONFLICT(operator_id) DO UPDATE SET public_key = excluded.public_key, custody = excluded.custody,"
        " sealed_private_key = excluded.sealed_private_key, created_at = excluded.created_at",
        dict(zip(_KEY, astuple(key), strict=True)),
    )


def key_of(conn: sqlite3.Connection, operator_id: str) -> OperatorKey | None:
    """The operator's key, or None (an account created before operator keys)."""
    row = conn.execute(
        f"SELECT {', '.join(_KEY)} FROM operator_keys WHERE operator_id = :o", {"o": operator_id}
    ).fetchone()
    return None if row is None else OperatorKey(*row)


def public_keys(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """``(operator_id, username, public_key)`` of every operator with a key, by user name."""
    rows = conn.execute(
        "SELECT k.operator_id, u.username, k.public_key FROM operator_keys k"
        " JOIN users u ON u.user_id = k.operator_id ORDER BY u.username"
    )
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def add_handoff(conn: sqlite3.Connection, handoff: Handoff) -> None:
    """Store the signed hand-off of a confirmed violation."""
    conn.execute(
        f"INSERT INTO violation_handoffs({', '.join(_HANDOFF)}) VALUES ({', '.join(f':{n}' for n in _HANDOFF)})",
        dict(zip(_HANDOFF, astuple(handoff), strict=True)),
    )


def handoff_of(conn: sqlite3.Connection, violation_id: str) -> Handoff | None:
    """The signed hand-off of a violation, or None before confirmation."""
    row = conn.execute(
        f"SELECT {', '.join(_HANDOFF)} FROM violation_handoffs WHERE violation_id = :v", {"v": violation_id}
    ).fetchone()
    return None if row is None else Handoff(*row)
