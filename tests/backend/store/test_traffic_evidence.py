"""The evidence stores (anchored heads, conflicts, registered camera keys, operator keys) on both engines."""

from __future__ import annotations

import sqlite3

from backend.store import devices, evidence, handoffs, users
from backend.store.devices import NewKey
from backend.store.evidence import ChainConflict, ChainHead
from backend.store.handoffs import OperatorKey
from backend.store.users import OperatorRow

T0 = "2026-12-01T05:00:00+00:00"


def test_heads_conflicts_and_keys_round_trip(conn: sqlite3.Connection) -> None:
    assert devices.insert(conn, NewKey("cam-1", "traffic", "d1", "", "kid-1", "hash", T0))
    assert devices.set_evidence_key(conn, "cam-1", "ab" * 32) and not devices.set_evidence_key(conn, "cam-9", None)
    assert devices.get(conn, "cam-1").evidence_public_key == "ab" * 32  # type: ignore[union-attr]
    assert evidence.head(conn, "cam-1") is None
    evidence.set_head(conn, ChainHead("cam-1", 1, "a" * 64, "v1", T0))
    evidence.set_head(conn, ChainHead("cam-1", 2, "b" * 64, "v2", T0))
    assert evidence.head(conn, "cam-1") == ChainHead("cam-1", 2, "b" * 64, "v2", T0)
    evidence.add_conflict(conn, ChainConflict("c1", "cam-1", "v3", "rollback", 1, 2, "chain rollback", T0))
    assert [c.kind for c in evidence.conflicts(conn, "cam-1")] == ["rollback"]
    assert users.add_operator(conn, OperatorRow("o1", "op", "d1", T0, None), "hash")
    handoffs.add_key(conn, OperatorKey("o1", "cd" * 32, "client", None, T0))
    handoffs.add_key(conn, OperatorKey("o1", "ef" * 32, "sealed", "c2VhbGVk", T0))  # a new key replaces the old
    assert handoffs.key_of(conn, "o1") == OperatorKey("o1", "ef" * 32, "sealed", "c2VhbGVk", T0)
    assert handoffs.public_keys(conn) == [("o1", "op", "ef" * 32)]
