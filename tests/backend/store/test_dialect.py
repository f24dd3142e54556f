"""The SQLite-specific helpers: constraint failures as False, IN lists in chunks."""

from __future__ import annotations

import sqlite3

import pytest

from backend.store import dialect

INSERT = "INSERT INTO schools(school_id, name, created_at) VALUES (:school_id, :name, :at)"


def test_try_insert_is_false_for_a_taken_key_and_writes_nothing(conn: sqlite3.Connection) -> None:
    assert dialect.try_insert(conn, INSERT, {"school_id": "s1", "name": "One", "at": "t"})
    assert not dialect.try_insert(conn, INSERT, {"school_id": "s1", "name": "Other", "at": "t"})
    assert conn.execute("SELECT name FROM schools").fetchall() == [("One",)]


def test_try_insert_is_false_for_a_broken_foreign_key(conn: sqlite3.Connection) -> None:
    sql = "INSERT INTO classes(class_id, school_id, name, start_time) VALUES ('c', :school_id, 'C', '08:00')"
    assert not dialect.try_insert(conn, sql, {"school_id": "nowhere"})


@pytest.mark.parametrize("stored", [0, 1, 499, 500, 501, 1203])
def test_existing_finds_exactly_the_stored_keys_across_chunks(conn: sqlite3.Connection, stored: int) -> None:
    conn.executemany(INSERT, [{"school_id": f"s{i:05d}", "name": "n", "at": "t"} for i in range(stored)])
    asked = [f"s{i:05d}" for i in range(0, stored + 700, 2)]
    assert dialect.existing(conn, "schools", "school_id", asked) == {k for k in asked if int(k[1:]) < stored}
