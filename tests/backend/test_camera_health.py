"""Camera health through the real app on a real SQLite file: ingest of ``CameraHealthEvent``s, the current state
in capture order, the history, one outbox alert per change to the right people in their language, and the scoping
of ``GET /api/v1/cameras/health`` and ``GET /api/v1/cameras/{camera_id}/health/history``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kuzet.contracts import CameraHealthEvent, ClockSource, EventBatch
from tests.backend.school.conftest import PASSWORD, World, build_world
from tests.support.events import T0

OPERATORS = (  # user name, district, e-mail (None: the account has none), language
    ("op_north", "north", "north@police.kz", "kk"),
    ("op_silent", "north", None, "ru"),
    ("op_south", "south", "south@police.kz", "en"),
)


def health(camera: str, n: int, state: str, previous: str, message: str = "", **fields: Any) -> CameraHealthEvent:
    """A health change of ``camera`` captured ``n`` seconds after T0 (the state began 2 s before)."""
    at = T0 + timedelta(seconds=n)
    active = fields.pop("active", () if state == "healthy" else (state,))
    return CameraHealthEvent.model_validate(
        {
            "event_id": uuid.uuid4(),
            "camera_id": camera,
            "captured_at": at,
            "clock_source": ClockSource.NTP,
            "state": state,
            "active": active,
            "previous": previous,
            "since": at - timedelta(seconds=2),
            "message": message,
            **fields,
        }
    )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Two schools (door-1, door-2) plus traffic cameras cam-n (district north), cam-s (south) and their operators."""
    for world in build_world(tmp_path, purge_interval_s=0):
        admin = world.auth("platform_admin")
        for camera, district in (("cam-n", "north"), ("cam-s", "south")):
            body = {"camera_id": camera, "kind": "traffic", "site": district}
            reply = world.client.post("/api/v1/devices", json=body, headers=admin)
            assert reply.status_code == 201, reply.text
            world.keys[camera] = reply.json()["api_key"]
        for username, district, email, language in OPERATORS:
            body = {
                "username": username,
                "password": PASSWORD,
                "district": district,
                "email": email,
                "language": language,
            }
            assert world.client.post("/api/v1/operators", json=body, headers=admin).status_code == 201
            reply = world.client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
            world.tokens[username] = reply.json()["token"]
            world.client.cookies.clear()
        yield world


def post(world: World, device: str, *events: CameraHealthEvent) -> dict[str, Any]:
    body = EventBatch(events=events).model_dump(mode="json")
    reply = world.client.post("/api/v1/events", json=body, headers={"X-API-Key": world.keys[device]})
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def cameras(world: World, who: str) -> dict[str, dict[str, Any]]:
    reply = world.client.get("/api/v1/cameras/health", headers=world.auth(who))
    assert reply.status_code == 200, reply.text
    return {c["camera_id"]: c for c in reply.json()}


def history(world: World, who: str, camera: str, **params: Any) -> list[dict[str, Any]]:
    reply = world.client.get(f"/api/v1/cameras/{camera}/health/history", headers=world.auth(who), params=params)
    assert reply.status_code == 200, reply.text
    return list(reply.json())


def outbox(world: World) -> list[tuple[object, ...]]:
    return world.rows(
        "SELECT recipient, kind, language, school_id, subject, body, dedupe_key FROM outbox"
        " WHERE kind IN ('camera_health', 'camera_recovered') ORDER BY id"
    )


def test_a_change_becomes_the_current_state_and_a_history_row(world: World) -> None:
    covered = health(
        "door-1", 10, "covered", "healthy", "Lens covered: uncover the camera", measures={"brightness": 3.5}
    )
    assert post(world, "device_a", covered)["accepted"] == [str(covered.event_id)]

    door = cameras(world, "staff_a")["door-1"]
    assert door["state"] == "covered" and door["active"] == ["covered"] and door["kind"] == "school"
    assert door["site"] == "school-1" and door["message"] == "Lens covered: uncover the camera"
    assert door["measures"] == {"brightness": 3.5}
    assert door["since"] == (T0 + timedelta(seconds=8)).isoformat() and door["updated_at"]
    [change] = history(world, "staff_a", "door-1")
    assert (change["event_id"], change["state"], change["previous"]) == (str(covered.event_id), "covered", "healthy")
    assert change["captured_at"] == (T0 + timedelta(seconds=10)).isoformat()


def test_an_older_change_arriving_late_does_not_overwrite_the_newer_state(world: World) -> None:
    covered = health("door-1", 10, "covered", "healthy", "covered")
    healthy = health("door-1", 30, "healthy", "covered")
    frozen_late = health("door-1", 20, "frozen", "covered", "frozen")  # captured before `healthy`, uploaded after
    post(world, "device_a", covered)
    post(world, "device_a", healthy)
    post(world, "device_a", frozen_late)

    door = cameras(world, "admin_a")["door-1"]
    assert (door["state"], door["active"], door["message"]) == ("healthy", [], "")
    assert [h["state"] for h in history(world, "admin_a", "door-1")] == ["healthy", "frozen", "covered"]
    assert [h["state"] for h in history(world, "admin_a", "door-1", limit=2)] == ["healthy", "frozen"]
    kinds = [row[1] for row in outbox(world)]
    assert kinds.count("camera_health") == 2 and kinds.count("camera_recovered") == 2  # 2 staff x (covered, back)


def test_one_batch_out_of_order_ends_in_the_newest_state(world: World) -> None:
    later = health("door-1", 40, "defocused", "covered", "blurred")
    earlier = health("door-1", 10, "covered", "healthy", "covered")
    post(world, "device_a", later, earlier)
    assert cameras(world, "staff_a")["door-1"]["state"] == "defocused"


def test_one_alert_per_change_to_the_schools_staff_in_their_language(world: World) -> None:
    covered = health("door-1", 10, "covered", "healthy", "Lens covered: uncover the camera")
    post(world, "device_a", covered)
    replay = post(world, "device_a", covered)
    assert replay["duplicates"] == [str(covered.event_id)]

    rows = outbox(world)
    assert sorted((r[0], r[1], r[2], r[3]) for r in rows) == [
        ("admin_a@s.kz", "camera_health", "ru", "school-1"),
        ("staff_a@s.kz", "camera_health", "en", "school-1"),
    ]
    by_language = {r[2]: r for r in rows}
    assert by_language["en"][4] == "Camera door-1: covered or dark"
    assert "07:50" in str(by_language["en"][5]) and "Lens covered: uncover the camera" in str(by_language["en"][5])
    assert by_language["ru"][4] == "Камера door-1: закрыта или затемнена"
    assert all(str(r[6]).startswith(f"camera_health:{covered.event_id}:") for r in rows)

    post(world, "device_a", health("door-1", 50, "healthy", "covered"))
    recovered = [r for r in outbox(world) if r[1] == "camera_recovered"]
    assert sorted(str(r[0]) for r in recovered) == ["admin_a@s.kz", "staff_a@s.kz"]
    english = next(r for r in recovered if r[2] == "en")
    assert english[4] == "Camera door-1 recovered" and "it was covered or dark" in str(english[5])


def test_a_report_without_a_change_alerts_nobody(world: World) -> None:
    post(world, "device_a", health("door-1", 10, "healthy", "healthy"))
    assert cameras(world, "staff_a")["door-1"]["state"] == "healthy"
    assert outbox(world) == []
    post(world, "device_a", health("door-1", 20, "covered", "healthy", "covered"))
    post(world, "device_a", health("door-1", 90, "covered", "healthy", "still covered after a restart"))
    assert [r[1] for r in outbox(world)] == ["camera_health", "camera_health"]  # one per staff member, once
    assert cameras(world, "staff_a")["door-1"]["message"] == "still covered after a restart"
    assert len(history(world, "staff_a", "door-1")) == 3


def test_a_traffic_camera_alerts_the_operators_of_its_district_with_an_address(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    moved = health("cam-n", 10, "moved", "healthy", "View moved 40 px: re-calibrate", measures={"shift_px": 40.0})
    with caplog.at_level(logging.WARNING, logger="backend.services.camera_health"):
        post(world, "cam-n", moved)
    rows = outbox(world)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [("north@police.kz", "camera_health", "kk", None)]
    assert rows[0][4] == "cam-n камерасы: орнатылған орнынан жылжыған"
    assert any("has no e-mail address" in r.getMessage() and "district north" in r.getMessage() for r in caplog.records)

    post(world, "cam-n", health("cam-n", 60, "healthy", "moved"))
    assert [(r[0], r[1]) for r in outbox(world)][1:] == [("north@police.kz", "camera_recovered")]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("platform_admin", {"door-1", "door-2", "cam-n", "cam-s"}),
        ("admin_a", {"door-1"}),
        ("staff_a", {"door-1"}),
        ("staff_b", {"door-2"}),
        ("op_north", {"cam-n"}),
        ("op_south", {"cam-s"}),
    ],
)
def test_each_caller_sees_only_their_cameras(world: World, who: str, expected: set[str]) -> None:
    post(world, "device_a", health("door-1", 10, "covered", "healthy", "covered"))
    post(world, "device_b", health("door-2", 10, "frozen", "healthy", "frozen"))
    post(world, "cam-n", health("cam-n", 10, "offline", "healthy", "offline"))
    seen = cameras(world, who)
    assert set(seen) == expected
    states = {"door-1": "covered", "door-2": "frozen", "cam-n": "offline", "cam-s": None}
    assert {c: v["state"] for c, v in seen.items()} == {c: states[c] for c in expected}
    for camera in expected:
        reply = world.client.get(f"/api/v1/cameras/{camera}/health/history", headers=world.auth(who))
        assert reply.status_code == 200 and len(reply.json()) == (0 if camera == "cam-s" else 1)


@pytest.mark.parametrize(
    ("who", "camera"),
    [("staff_b", "door-1"), ("admin_a", "door-2"), ("op_north", "door-1"), ("op_north", "cam-s"), ("staff_a", "cam-n")],
)
def test_a_foreign_camera_answers_like_a_missing_one(world: World, who: str, camera: str) -> None:
    post(world, "device_a", health("door-1", 10, "covered", "healthy", "covered"))
    head = world.auth(who)
    foreign = world.client.get(f"/api/v1/cameras/{camera}/health/history", headers=head)
    missing = world.client.get(f"/api/v1/cameras/{camera}x/health/history", headers=head)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["title"] == missing.json()["title"]
    assert "covered" not in foreign.text


@pytest.mark.parametrize("who", ["guardian_a", "anonymous", "device_a"])
def test_guardians_devices_and_strangers_see_no_camera(world: World, who: str) -> None:
    assert world.client.get("/api/v1/cameras/health", headers=world.auth(who)).status_code in (401, 403)
    reply = world.client.get("/api/v1/cameras/door-1/health/history", headers=world.auth(who))
    assert reply.status_code in (401, 403)


def test_the_dashboard_feed_lists_the_door_cameras_unhealthy_first(world: World) -> None:
    admin = world.auth("platform_admin")
    body = {"camera_id": "door-1b", "kind": "school", "site": "school-1", "description": "back gate"}
    world.keys["door-1b"] = world.client.post("/api/v1/devices", json=body, headers=admin).json()["api_key"]
    post(world, "door-1b", health("door-1b", 10, "frozen", "healthy", "Picture frozen for 12 s"))
    post(world, "device_a", health("door-1", 10, "healthy", "healthy"))

    reply = world.client.get("/api/v1/schools/school-1/attendance", headers=world.auth("staff_a"))
    assert reply.status_code == 200, reply.text
    lines = reply.json()["cameras"]
    assert [(c["camera_id"], c["state"], c["alert"]) for c in lines] == [
        ("door-1b", "frozen", True),
        ("door-1", "healthy", False),
    ]
    assert lines[0]["message"] == "Picture frozen for 12 s" and lines[0]["description"] == "back gate"
    assert lines[0]["since"] == "2026-09-01 07:50"  # Asia/Almaty
