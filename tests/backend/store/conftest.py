"""A migrated database per test on each engine (a SQLite file, a PostgreSQL database), and a school with one door
camera to hang rows on."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from backend.db import connect, migrate
from backend.store import devices, schools
from backend.store.devices import NewKey
from backend.store.schools import Pupil, SchoolClass

T0 = "2026-03-02T08:00:00+00:00"


@pytest.fixture
def conn(database_url: str) -> Iterator[sqlite3.Connection]:
    """A connection to a freshly migrated database of the engine under test (autocommit, foreign keys on)."""
    db = connect(database_url)
    migrate(db)
    try:
        yield db.conn
    finally:
        db.conn.close()


def camera(camera_id: str, kind: str = "school", site: str = "s1", key_id: str | None = None) -> NewKey:
    """A camera to register, with a key id derived from its id unless given."""
    return NewKey(camera_id, kind, site, f"{camera_id} door", key_id or f"kid-{camera_id}", "hash", T0)


@pytest.fixture
def school(conn: sqlite3.Connection) -> sqlite3.Connection:
    """School ``s1`` with classes 5a (08:00) and 6b (08:30), pupils p1, p2 in 5a, p3 in no class, door camera door-1."""
    assert schools.insert_school(conn, "s1", "School One", T0)
    assert schools.insert_class(conn, "s1", SchoolClass("5a", "5A", "08:00"))
    assert schools.insert_class(conn, "s1", SchoolClass("6b", "6B", "08:30"))
    for pupil_id, name, class_id in (("p1", "Aruzhan", "5a"), ("p2", "Timur", "5a"), ("p3", "Bota", None)):
        assert schools.insert_pupil(conn, Pupil(pupil_id, name, class_id, "s1"), T0)
    assert devices.insert(conn, camera("door-1"))
    return conn
