"""Attendance derived from events in capture order; replay, out-of-order, late, fever, lingering, messages.

Fever is the door's decision: ``temperature_c >= fever_threshold_c`` with the threshold the event carries (the
settings' only for events without one); synthetic temperatures are stored and shown labelled, never alerted."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta

import pytest

from backend.services.attendance import derive
from backend.settings import SchoolSettings
from backend.store.attendance import PassThermal
from kuzet.contracts import EntryEvent
from tests.backend.school.conftest import World
from tests.support.events import T0, entry

# T0 = 2026-09-01 02:50 UTC = 07:50 in Asia/Almaty (UTC+5); class 5A starts 08:00, grace 5 min.
SETTINGS = SchoolSettings(linger_debounce_s=60.0, late_grace_minutes=5, fever_threshold_c=37.5)


def ev(minutes: float, direction: str = "entered", pupil: str = "p1", **fields: object) -> EntryEvent:
    return entry(
        "door-1",
        0,
        captured_at=T0 + timedelta(minutes=minutes),
        pupil_id=pupil,
        direction=direction,
        **fields,
    )


def rows(events: list[EntryEvent]) -> list[tuple[str, str, str, float | None]]:
    return [(str(e.event_id), e.captured_at.isoformat(), e.direction, e.temperature_c) for e in events]


@pytest.mark.parametrize(
    ("name", "timeline", "state", "late", "feverish", "passes"),
    [
        ("absent", [], "absent", False, False, 0),
        ("on time, inside", [(2, "entered", None)], "inside", False, False, 1),
        ("within grace", [(14.9, "entered", None)], "inside", False, False, 1),
        ("late", [(16, "entered", None)], "inside", True, False, 1),
        ("in then out", [(0, "entered", None), (400, "left", None)], "left", False, False, 2),
        ("lingering is one pass", [(0, "entered", None), (0.5, "entered", None), (0.9, "entered", None)],
         "inside", False, False, 1),
        ("same way again later is a new pass", [(0, "entered", None), (5, "entered", None)],
         "inside", False, False, 2),
        ("feverish", [(0, "entered", 37.9)], "inside", False, True, 1),
        ("at the threshold is feverish, as at the door (>=)", [(0, "entered", 37.5)], "inside", False, True, 1),
        ("just below the threshold", [(0, "entered", 37.49)], "inside", False, False, 1),
        ("direction unknown changes nothing", [(0, "unknown", None)], "absent", False, False, 0),
    ],
)  # fmt: skip
def test_derive_table(name: str, timeline: list[tuple[float, str, float | None]], state: str, late: bool,
                      feverish: bool, passes: int) -> None:  # fmt: skip
    events = [ev(m, d, temperature_c=t) for m, d, t in timeline]
    result = derive(rows(events), "08:00", SETTINGS)
    assert (result.state, result.late, result.feverish, result.passes) == (state, late, feverish, passes), name


def test_any_arrival_order_gives_the_same_state() -> None:
    events = [ev(0), ev(0.3), ev(200, "left"), ev(230, "entered", temperature_c=36.6), ev(420, "left")]
    expected = derive(rows(events), "08:00", SETTINGS)
    assert (expected.state, expected.passes) == ("left", 4)
    for seed in range(10):
        shuffled = rows(events)
        random.Random(seed).shuffle(shuffled)
        assert derive(shuffled, "08:00", SETTINGS) == expected


def attendance(world: World) -> list[tuple[object, ...]]:
    return world.rows("SELECT pupil_id, day, state, first_in, last_out, late, feverish, passes FROM attendance"
                      " ORDER BY pupil_id")  # fmt: skip


def told(world: World) -> list[tuple[str, str]]:
    """(pass / alert kind, recipient) of every queued message: one per pass per guardian, one per alert per staff."""
    rows = world.rows("SELECT dedupe_key, recipient FROM outbox")
    return sorted((str(k).split(":")[0], str(r)) for k, r in rows)


def test_out_of_order_and_replayed_ingest_gives_same_state_and_messages(world: World, tmp_path_factory) -> None:
    events = [ev(0), ev(0.4), ev(300, "left"), ev(1, pupil="p2"), ev(20, "entered", pupil="p2", temperature_c=38.2)]
    world.post_events(events)
    in_order = attendance(world)
    notices = told(world)
    assert notices == sorted(
        [("pass", "aigerim@example.kz")] * 2 + [("pass", "100200")] * 2
        + [("fever_alert", "admin_a@s.kz"), ("fever_alert", "staff_a@s.kz")]
    )  # fmt: skip

    from tests.backend.school.conftest import build_world

    other = build_world(tmp_path_factory.mktemp("other"), linger_debounce_s=60.0, purge_interval_s=0)
    second = next(other)
    try:
        for event in reversed(events):  # newest first, one batch each: arrival order is the reverse of capture
            second.post_events([event])
        second.post_events(events)  # a full replay stores and sends nothing twice
        assert attendance(second) == in_order
        # as many messages to each recipient: one per pass, whichever event of a lingering pass arrived first (a
        # body may differ: "late" was right until the earlier entry arrived)
        assert told(second) == notices
    finally:
        other.close()
    assert [r[2] for r in in_order] == ["left", "inside"]


def test_replay_triggers_nothing_twice(world: World) -> None:
    events = [ev(0), ev(300, "left")]
    world.post_events(events)
    before = world.rows("SELECT COUNT(*) FROM outbox")[0][0]
    reply = world.post_events(events)
    assert len(reply["duplicates"]) == 2  # type: ignore[arg-type]
    assert world.rows("SELECT COUNT(*) FROM outbox")[0][0] == before == 2


def test_lingering_in_the_doorway_is_one_message(world: World) -> None:
    world.post_events([ev(0), ev(0.2), ev(0.5)])
    world.post_events([ev(0.8)])
    bodies = world.rows("SELECT recipient, body FROM outbox WHERE kind = 'pupil_entered'")
    assert len(bodies) == 1
    recipient, body = bodies[0]
    assert recipient == "aigerim@example.kz"
    assert "Aruzhan" in str(body) and "07:50" in str(body)


def test_late_arriving_earlier_copy_of_a_pass_is_not_a_second_message(world: World) -> None:
    world.post_events([ev(0.5)])
    world.post_events([ev(0.0)])  # captured earlier, arrives later: same pass
    assert world.rows("SELECT COUNT(*) FROM outbox WHERE kind = 'pupil_entered'")[0][0] == 1


def test_message_per_guardian_language_and_channel(world: World) -> None:
    world.post_events([ev(2, pupil="p2")])
    (row,) = world.rows("SELECT channel, recipient, language, body FROM outbox WHERE kind = 'pupil_entered'")
    assert row[:3] == ("telegram", "100200", "ru")
    assert "Timur" in str(row[3]) and "07:52" in str(row[3])


def test_late_fever_and_unknown_face_reach_dashboard_and_staff(world: World) -> None:
    world.post_events([
        ev(16, temperature_c=38.1),
        entry("door-1", 3, identity="unknown", pupil_id=None, captured_at=T0 + timedelta(minutes=17)),
    ])  # fmt: skip
    data = world.client.get("/api/v1/schools/school-1/attendance?day=2026-09-01", headers=world.auth("staff_a")).json()
    assert [p["name"] for p in data["late"]] == ["Aruzhan"]
    assert [p["name"] for p in data["feverish"]] == ["Aruzhan"]
    assert [p["name"] for p in data["inside"]] == ["Aruzhan"]
    assert len(data["unknown"]) == 1
    assert {c["name"]: (c["present"], c["pupils"]) for c in data["classes"]} == {"5A": (1, 2)}
    staff = world.rows("SELECT kind, recipient FROM outbox WHERE kind IN ('fever_alert', 'unknown_face')")
    assert sorted(staff) == sorted(
        (k, r) for k in ("fever_alert", "unknown_face") for r in ("admin_a@s.kz", "staff_a@s.kz")
    )


def test_event_for_a_pupil_of_another_school_is_an_unknown_face(world: World) -> None:
    world.post_events([ev(0, pupil="qleakb1")])
    assert attendance(world) == []
    assert world.rows("SELECT school_id FROM unknown_faces") == [("school-1",)]


def test_late_first_entry_tells_how_late_and_later_passes_do_not(world: World) -> None:
    world.post_events([ev(17, pupil="p2"), ev(300, "left", pupil="p2"), ev(310, pupil="p2")])
    kinds = world.rows("SELECT kind, body FROM outbox WHERE recipient = '100200' ORDER BY id")
    assert [k for k, _ in kinds] == ["pupil_late", "pupil_left", "pupil_entered"]
    assert "7" in str(kinds[0][1]) and "08:07" in str(kinds[0][1]) and "Timur" in str(kinds[0][1])


def test_a_group_of_unknown_faces_is_one_staff_alert_but_all_are_listed(world: World) -> None:
    strangers = [
        entry("door-1", i, identity="unknown", pupil_id=None, captured_at=T0 + timedelta(seconds=s))
        for i, s in enumerate([0, 5, 20, 50, 400])
    ]
    world.post_events(strangers)
    alerts = world.rows("SELECT dedupe_key FROM outbox WHERE kind = 'unknown_face' AND recipient = 'staff_a@s.kz'")
    assert len(alerts) == 2  # the group within a minute, then the one 400 s later
    data = world.client.get("/api/v1/schools/school-1/attendance?day=2026-09-01", headers=world.auth("staff_a")).json()
    assert len(data["unknown"]) == 5


@pytest.mark.parametrize(
    ("temperature", "door_threshold", "feverish"),
    [
        (37.8, 38.0, False),  # the door's stricter threshold wins over the settings' 37.5
        (37.2, 37.0, True),  # and its looser one
        (37.0, 37.0, True),  # the same comparison as the door: >=
        (37.6, None, True),  # an event without a threshold: the settings' fallback
        (37.4, None, False),
    ],
)
def test_derive_uses_the_doors_threshold(temperature: float, door_threshold: float | None, feverish: bool) -> None:
    event = ev(0, temperature_c=temperature)
    label = PassThermal("sensor", 0.3, door_threshold)
    result = derive(rows([event]), "08:00", SETTINGS, {str(event.event_id): label})
    assert result.feverish is feverish
    assert result.max_temperature_c == temperature and result.temperature == label


def _day(world: World) -> dict[str, dict[str, object]]:
    reply = world.client.get("/api/v1/schools/school-1/attendance?day=2026-09-01", headers=world.auth("staff_a"))
    return {p["pupil_id"]: p for p in reply.json()["pupils"]}


def test_door_threshold_and_uncertainty_reach_alerts_dashboard_and_store(world: World) -> None:
    measured = {"temperature_source": "sensor", "temperature_sigma_c": 0.3, "blackbody_offset_c": 0.42}
    world.post_events([
        ev(0, temperature_c=37.2, fever_threshold_c=37.0, **measured),  # fever by the door's 37.0 (settings 37.5)
        ev(1, pupil="p2", temperature_c=37.8, fever_threshold_c=38.0, **measured),  # no fever by the door's 38.0
    ])  # fmt: skip
    alerts = world.rows("SELECT recipient, body FROM outbox WHERE kind = 'fever_alert' ORDER BY recipient")
    assert [r for r, _ in alerts] == ["admin_a@s.kz", "staff_a@s.kz"]
    assert all(re.search(r"37[.,]2 ± 0[.,]3", str(body)) and "Aruzhan" in str(body) for _, body in alerts)
    day = _day(world)
    assert (day["p1"]["feverish"], day["p2"]["feverish"]) == (True, False)
    assert day["p1"]["temperature_text"] == "37.2 ± 0.3 °C" and day["p1"]["fever_threshold_c"] == 37.0
    stored = world.rows("SELECT temperature_source, temperature_sigma_c, fever_threshold_c, blackbody_offset_c"
                        " FROM pass_thermal ORDER BY fever_threshold_c")  # fmt: skip
    assert stored == [("sensor", 0.3, 37.0, 0.42), ("sensor", 0.3, 38.0, 0.42)]


def test_synthetic_temperature_is_labelled_everywhere_and_alerts_nobody(world: World) -> None:
    world.post_events([ev(0, temperature_c=38.4, temperature_source="synthetic", fever_threshold_c=37.5)])
    assert world.rows("SELECT COUNT(*) FROM outbox WHERE kind = 'fever_alert'") == [(0,)]
    day = _day(world)
    assert day["p1"]["temperature_source"] == "synthetic"
    assert str(day["p1"]["temperature_text"]).endswith("(synthetic)")
    assert world.rows("SELECT a.max_temperature_c, t.temperature_source FROM attendance a JOIN attendance_thermal t"
                      " ON t.pupil_id = a.pupil_id AND t.day = a.day") == [(38.4, "synthetic")]  # fmt: skip
    reply = world.client.get(
        "/api/v1/schools/school-1/exports/attendance.csv?day=2026-09-01", headers=world.auth("staff_a")
    )
    line = next(row for row in reply.text.splitlines() if row.startswith("p1,"))
    assert line.endswith(",38.4,synthetic")
    now = datetime.now(UTC)  # the HTML page shows today
    world.post_events([entry("door-1", 9, pupil_id="p2", captured_at=now, temperature_c=38.6,
                             temperature_source="synthetic", fever_threshold_c=37.5)])  # fmt: skip
    # the board reaches the page as a Server-Sent Event; limit_s=0 sends it once and closes
    page = world.client.get("/schools/school-1/dashboard/stream?limit_s=0", headers=world.auth("staff_a"))
    board = json.loads(page.text.split("event: board\ndata: ", 1)[1].split("\n\n", 1)[0])
    assert page.status_code == 200 and "Timur</a> 38.6 °C (synthetic)" in board  # printed with its label
