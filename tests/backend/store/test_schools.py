"""Schools, classes, pupils, guardians, their links and the school accounts."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from backend.db import connect, migrate
from backend.store import schools, users
from backend.store.schools import Guardian, Pupil, SchoolClass
from backend.store.users import NewAccount
from tests.backend.store.conftest import T0

AIGERIM = Guardian("g1", "Aigerim", "kk", "email", "aigerim@example.kz")


def _account(user_id: str, username: str, role: str = "staff", email: str | None = None) -> NewAccount:
    return NewAccount(user_id, username, "hash", role, "s1", None, email, "ru", T0)


TAKEN: list[tuple[str, Callable[[sqlite3.Connection], bool]]] = [
    ("school", lambda c: schools.insert_school(c, "s1", "Again", T0)),
    ("class", lambda c: schools.insert_class(c, "s1", SchoolClass("5a", "5A again", "09:00"))),
    ("pupil", lambda c: schools.insert_pupil(c, Pupil("p1", "Again", None, "s1"), T0)),
    ("pupil of no school", lambda c: schools.insert_pupil(c, Pupil("p9", "Nobody", None, "s9"), T0)),
    ("guardian", lambda c: schools.insert_guardian(c, "s1", AIGERIM) and schools.insert_guardian(c, "s1", AIGERIM)),
    ("user name", lambda c: users.insert(c, _account("u1", "anna")) and users.insert(c, _account("u2", "anna"))),
    ("role", lambda c: users.insert(c, _account("u1", "root", role="superuser"))),
]


@pytest.mark.parametrize(("what", "insert"), TAKEN, ids=[t[0] for t in TAKEN])
def test_an_insert_that_breaks_a_constraint_is_false(
    school: sqlite3.Connection, what: str, insert: Callable[[sqlite3.Connection], bool]
) -> None:
    assert not insert(school), what


def test_school_classes_and_pupils_read_back(school: sqlite3.Connection) -> None:
    assert schools.school_name(school, "s1") == "School One"
    assert schools.school_name(school, "s2") is None
    assert [c.class_id for c in schools.classes(school, "s1")] == ["5a", "6b"]
    assert schools.class_school(school, "6b") == "s1" and schools.class_school(school, "7z") is None
    assert schools.pupil(school, "p3") == Pupil("p3", "Bota", None, "s1")
    assert schools.pupil_ids(school, "s1") == ["p1", "p3", "p2"]  # by name
    assert [(r.pupil_id, r.class_name) for r in schools.roster(school, "s1")] == [
        ("p3", ""),
        ("p1", "5A"),
        ("p2", "5A"),
    ]


def test_links_are_idempotent_and_give_children_and_contacts(school: sqlite3.Connection) -> None:
    assert schools.insert_guardian(school, "s1", AIGERIM)
    assert schools.insert_guardian(school, "s1", Guardian("g0", "Sergei", "ru", "telegram", "100200"))
    for guardian_id in ("g1", "g1", "g0"):
        schools.link(school, guardian_id, "p1")
    schools.link(school, "g1", "p2")
    assert school.execute("SELECT COUNT(*) FROM guardian_pupils").fetchone()[0] == 3
    assert [c.pupil_id for c in schools.children(school, "g1")] == ["p1", "p2"]
    contacts = schools.guardian_contacts(school, "p1")
    assert [(c.guardian_id, c.channel, c.pupil_name, c.school_id) for c in contacts] == [
        ("g0", "telegram", "Aruzhan", "s1"),
        ("g1", "email", "Aruzhan", "s1"),
    ]
    schools.unlink(school, "g1", "p1")
    assert [c.guardian_id for c in schools.guardian_contacts(school, "p1")] == ["g0"]
    assert schools.guardian_school(school, "g1") == "s1" and schools.guardian_school(school, "g9") is None


def test_deleting_a_pupil_takes_their_links(school: sqlite3.Connection) -> None:
    assert schools.insert_guardian(school, "s1", AIGERIM)
    schools.link(school, "g1", "p1")
    schools.delete_pupil(school, "p1")
    assert schools.pupil(school, "p1") is None and schools.children(school, "g1") == []


def test_accounts_of_a_school_and_staff_with_email(school: sqlite3.Connection) -> None:
    assert users.insert(school, _account("u2", "zed", email="zed@example.kz"))
    assert users.insert(school, _account("u1", "amy", role="school_admin", email="amy@example.kz"))
    assert users.insert(school, _account("u3", "bob"))
    assert [a.username for a in users.of_school(school, "s1")] == ["amy", "bob", "zed"]
    assert [(s.user_id, s.email) for s in users.staff_contacts(school, "s1")] == [
        ("u1", "amy@example.kz"),
        ("u2", "zed@example.kz"),
    ]
    assert users.in_school(school, "s1", "u3") and not users.in_school(school, "s2", "u3")
    users.delete(school, "u3")
    assert not users.in_school(school, "s1", "u3")


def test_guardians_of_a_pupil_are_found_by_index_not_by_scanning_every_link(tmp_path: Path) -> None:
    """Each new pass asks for the pupil's guardians; without m0203 SQLite scanned guardian_pupils whole."""
    db = connect(tmp_path / "plan.sqlite")
    migrate(db)
    plan = " | ".join(
        str(row[3])
        for row in db.conn.execute(
            "EXPLAIN QUERY PLAN SELECT g.guardian_id FROM guardian_pupils gp"
            " JOIN guardians g ON g.guardian_id = gp.guardian_id WHERE gp.pupil_id = 'p1'"
        )
    )
    db.conn.close()
    assert "guardian_pupils_pupil" in plan and "SCAN gp" not in plan, plan
