"""Camera health statements: history once per event, the current row only moves forward in capture order, the
scoped lists join the registry, and the operators of a district with or without an address."""

from __future__ import annotations

import sqlite3

import pytest

from backend.store import camera_health as store
from backend.store import devices, events
from backend.store.camera_health import HealthRow, OperatorContact
from backend.store.events import EventRow
from tests.backend.store.conftest import T0, camera


def change(event_id: str, captured_at: str, state: str = "covered", camera_id: str = "door-1") -> HealthRow:
    return HealthRow(
        camera_id=camera_id,
        event_id=event_id,
        state=state,
        active=() if state == "healthy" else (state,),
        previous="healthy",
        since=captured_at,
        captured_at=captured_at,
        measures={"brightness": 2.0},
        message=f"{state} at {captured_at}",
        updated_at=T0,
    )


def stored_event(conn: sqlite3.Connection, event_id: str, camera_id: str = "door-1") -> None:
    events.insert(conn, [EventRow(event_id, "camera_health", camera_id, T0, T0, 1, "{}")], [])


@pytest.fixture
def cams(conn: sqlite3.Connection) -> sqlite3.Connection:
    for cam in (camera("door-1"), camera("door-2", site="s2"), camera("cam-n", "traffic", "north")):
        assert devices.insert(conn, cam)
    for event_id in ("e1", "e2", "e3", "e4"):
        stored_event(conn, event_id)
    return conn


def test_history_keeps_each_event_once_newest_first(cams: sqlite3.Connection) -> None:
    assert store.insert_history(cams, change("e1", "2026-03-02T08:00:01+00:00"))
    assert store.insert_history(cams, change("e2", "2026-03-02T08:00:03+00:00", "healthy"))
    assert not store.insert_history(cams, change("e1", "2026-03-02T08:00:01+00:00"))
    rows = store.history(cams, "door-1", 10)
    assert [(r.event_id, r.state, r.active) for r in rows] == [("e2", "healthy", ()), ("e1", "covered", ("covered",))]
    assert rows[1].measures == {"brightness": 2.0} and rows[1].updated_at == T0
    assert [r.event_id for r in store.history(cams, "door-1", 1)] == ["e2"]
    assert store.history(cams, "door-2", 10) == []


@pytest.mark.parametrize(
    ("second", "wins"),
    [
        (change("e2", "2026-03-02T08:00:05+00:00", "frozen"), True),  # later capture
        (change("e2", "2026-03-02T08:00:01+00:00", "frozen"), False),  # earlier capture, uploaded late
        (change("e0", "2026-03-02T08:00:03+00:00", "frozen"), False),  # same instant, lower id
        (change("e4", "2026-03-02T08:00:03+00:00", "frozen"), True),  # same instant, higher id
        (change("e3", "2026-03-02T08:00:03.500000+00:00", "frozen"), True),  # fractional seconds order as text
    ],
)
def test_the_current_state_only_moves_forward_in_capture_order(
    cams: sqlite3.Connection, second: HealthRow, wins: bool
) -> None:
    first = change("e3", "2026-03-02T08:00:03+00:00", "covered")
    assert store.upsert_current(cams, first)
    assert store.upsert_current(cams, second) is wins
    assert store.current(cams, "door-1") == (second if wins else first)


def test_lines_join_the_registry_and_scope_by_kind_and_site(cams: sqlite3.Connection) -> None:
    assert store.upsert_current(cams, change("e1", "2026-03-02T08:00:01+00:00"))
    every = store.lines(cams)
    assert [(c.kind, c.site, c.camera_id, c.state) for c in every] == [
        ("school", "s1", "door-1", "covered"),
        ("school", "s2", "door-2", None),
        ("traffic", "north", "cam-n", None),
    ]
    [door] = store.lines(cams, "school", "s1")
    assert door.active == ("covered",) and door.message.startswith("covered") and door.description == "door-1 door"
    assert [c.camera_id for c in store.lines(cams, "traffic", "north")] == ["cam-n"]
    assert store.lines(cams, "traffic", "s1") == []
    devices.revoke(cams, "door-2", T0)
    assert [c.camera_id for c in store.lines(cams, "school")] == ["door-1"]


def test_operator_contacts_of_a_district(conn: sqlite3.Connection) -> None:
    rows = [
        ("u1", "n1", "north", "n1@x.kz", "kk", None),
        ("u2", "n2", "north", None, "ru", None),
        ("u3", "n3", "north", "n3@x.kz", "en", T0),  # disabled
        ("u4", "s1", "south", "s1@x.kz", "en", None),
    ]
    for user_id, name, district, email, language, disabled in rows:
        conn.execute(
            "INSERT INTO users(user_id, username, password_hash, role, created_at, district, email, language,"
            " disabled_at) VALUES (?, ?, 'h', 'operator', ?, ?, ?, ?, ?)",
            (user_id, name, T0, district, email, language, disabled),
        )
    assert store.operator_contacts(conn, "north") == [
        OperatorContact("u1", "n1@x.kz", "kk"),
        OperatorContact("u2", None, "ru"),
    ]
    assert store.operator_contacts(conn, "east") == []
