"""Passes, derived days, the dashboard's day views and unknown faces."""

from __future__ import annotations

import sqlite3

import pytest

from backend.store import attendance, events
from backend.store.attendance import DayRow, PassRow, UnknownRow
from backend.store.events import EventRow

DAY = "2026-03-02"


def _event(conn: sqlite3.Connection, event_id: str, captured_at: str) -> None:
    events.insert(conn, [EventRow(event_id, "entry", "door-1", captured_at, captured_at, 1, "{}")], [])


def _pass(conn: sqlite3.Connection, event_id: str, pupil_id: str, at: str, direction: str = "entered") -> PassRow:
    _event(conn, event_id, at)
    row = PassRow(event_id, "s1", pupil_id, at[:10], at, direction, 36.6)
    attendance.insert_pass(conn, row)
    return row


def _day(pupil_id: str, day: str, first_in: str | None, late: bool = False) -> DayRow:
    state = "inside" if first_in else "absent"
    return DayRow(pupil_id, day, "s1", state, first_in, None, late, False, 36.6 if first_in else None, 1)


def test_a_replayed_pass_is_stored_once_and_flags_are_set(school: sqlite3.Connection) -> None:
    row = _pass(school, "e1", "p1", f"{DAY}T02:55:00+00:00")
    attendance.insert_pass(school, row)
    _pass(school, "e2", "p1", f"{DAY}T02:56:00+00:00")
    assert sorted(attendance.passes_of_day(school, "p1", DAY)) == [
        ("e1", f"{DAY}T02:55:00+00:00", "entered", 36.6),
        ("e2", f"{DAY}T02:56:00+00:00", "entered", 36.6),
    ]
    attendance.mark_new_passes(school, "p1", DAY, {"e1"})
    assert attendance.recent_passes(school, "p1", DAY) == [(DAY, f"{DAY}T02:55:00+00:00", "entered")]
    assert attendance.recent_passes(school, "p1", "2026-03-03") == []
    assert sorted(attendance.pass_event_ids(school, "p1")) == ["e1", "e2"]


@pytest.mark.parametrize(("pupil_id", "expected"), [("p1", ("s1", "08:00")), ("p3", ("s1", None))])
def test_class_start_of_a_pupil(school: sqlite3.Connection, pupil_id: str, expected: tuple[str, str | None]) -> None:
    assert attendance.class_start(school, pupil_id) == expected


def test_save_day_replaces_and_day_views_default_to_absent(school: sqlite3.Connection) -> None:
    attendance.save_day(school, _day("p1", DAY, None))
    attendance.save_day(school, _day("p1", DAY, f"{DAY}T03:10:00+00:00", late=True))
    lines = {line.pupil_id: line for line in attendance.pupil_days(school, "s1", DAY)}
    assert [p for p in lines] == ["p3", "p1", "p2"]  # class name (none first), then name
    assert (lines["p1"].state, lines["p1"].late, lines["p1"].first_in) == ("inside", True, f"{DAY}T03:10:00+00:00")
    assert (lines["p2"].state, lines["p2"].late, lines["p2"].max_temperature_c) == ("absent", False, None)
    classes = attendance.class_days(school, "s1", DAY)
    assert [(c.class_id, c.pupils, c.present) for c in classes] == [("5a", 2, 1), ("6b", 0, 0)]
    attendance.delete_days(school, "p1")
    assert attendance.class_days(school, "s1", DAY)[0].present == 0


def test_month_marks_are_days_of_that_month_with_an_entry(school: sqlite3.Connection) -> None:
    attendance.save_day(school, _day("p1", "2026-03-02", "2026-03-02T03:00:00+00:00"))
    attendance.save_day(school, _day("p1", "2026-03-03", "2026-03-03T03:20:00+00:00", late=True))
    attendance.save_day(school, _day("p2", "2026-03-03", None))
    attendance.save_day(school, _day("p2", "2026-04-01", "2026-04-01T03:00:00+00:00"))
    assert sorted(attendance.month_marks(school, "s1", "2026-03")) == [
        ("p1", "2026-03-02", False),
        ("p1", "2026-03-03", True),
    ]


def test_unknown_faces_debounce_window_listing_and_snapshot_purge(school: sqlite3.Connection) -> None:
    for n, minute in enumerate((0, 1, 9)):
        at = f"{DAY}T03:{minute:02d}:00+00:00"
        _event(school, f"u{n}", at)
        row = UnknownRow(f"u{n}", "s1", DAY, at, "door-1", None)
        attendance.insert_unknown(school, row)
        attendance.insert_unknown(school, row)
    assert attendance.unknown_seen_between(school, "door-1", f"{DAY}T03:00:30+00:00", f"{DAY}T03:02:00+00:00")
    assert not attendance.unknown_seen_between(school, "door-1", f"{DAY}T03:02:00+00:00", f"{DAY}T03:09:00+00:00")
    assert [u.event_id for u in attendance.unknown_of_day(school, "s1", DAY)] == ["u2", "u1", "u0"]
    assert [u.event_id for u in attendance.unknown_of_day(school, "s1", DAY, limit=1)] == ["u2"]
    assert attendance.unknown_snapshot(school, "s1", "u0") is None  # no snapshot stored


@pytest.mark.parametrize("new", [set(), {"e1"}, {"e2"}, {"e1", "e2"}])
def test_mark_new_passes_sets_the_pupil_days_flags_only(school: sqlite3.Connection, new: set[str]) -> None:
    _pass(school, "e1", "p1", f"{DAY}T02:55:00+00:00")
    _pass(school, "e2", "p1", f"{DAY}T06:56:00+00:00")
    _pass(school, "e3", "p2", f"{DAY}T02:57:00+00:00")
    attendance.mark_new_passes(school, "p1", DAY, {"e1", "e2"} - new)  # the opposite first: every flag must move
    attendance.mark_new_passes(school, "p1", DAY, new)
    flags = dict(school.execute("SELECT event_id, new_pass FROM school_passes").fetchall())
    assert flags == {"e1": int("e1" in new), "e2": int("e2" in new), "e3": 1}
