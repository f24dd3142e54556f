"""Ids are per school: school 2 may use the ids school 1 uses (pupils, classes, guardians, cameras), every route
answers in the school's own ids, and nothing answers differently because another school has an id. User names stay
platform-wide (one login form), and a taken name says nothing of whose it is."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from backend.db import connect, transaction
from backend.services import privacy
from tests.backend.school.conftest import PASSWORD, World
from tests.support.events import entry

S2 = "/api/v1/schools/school-2"


def _post(world: World, path: str, body: dict[str, object], who: str = "admin_b") -> tuple[int, dict[str, object]]:
    reply = world.client.post(f"{S2}{path}", json=body, headers=world.auth(who))
    return reply.status_code, reply.json()


def test_school_2_uses_school_1s_ids_and_sees_only_its_own(world: World) -> None:
    assert _post(world, "/classes", {"class_id": "5a", "name": "5A-two", "start_time": "09:00"})[0] == 201
    status, pupil = _post(world, "/pupils", {"pupil_id": "p1", "name": "Dana", "class_id": "5a"})
    assert status == 201 and (pupil["pupil_id"], pupil["class_id"]) == ("p1", "5a")
    body = {"guardian_id": "g1", "name": "Marat", "language": "en", "channel": "sms", "address": "+77010000001"}
    assert _post(world, "/guardians", body)[0] == 201
    head = world.auth("admin_b")
    assert world.client.put(f"{S2}/guardians/g1/pupils/p1", headers=head).status_code == 204
    account = {"username": "marat", "password": PASSWORD, "role": "guardian", "guardian_id": "g1"}
    assert _post(world, "/users", account)[0] == 201

    one = world.client.get("/api/v1/schools/school-1/pupils/p1", headers=world.auth("staff_a")).json()
    two = world.client.get(f"{S2}/pupils/p1", headers=world.auth("staff_b")).json()
    assert (one["name"], one["class_id"]) == ("Aruzhan", "5a") and (two["name"], two["class_id"]) == ("Dana", "5a")
    assert {p["pupil_id"] for p in world.client.get(f"{S2}/pupils", headers=world.auth("staff_b")).json()} == {
        "qleakb1",
        "p1",
    }
    assert {c["class_id"] for c in world.client.get(f"{S2}/classes", headers=world.auth("staff_b")).json()} == {
        "7b",
        "5a",
    }
    listed = world.client.get(f"{S2}/guardians", headers=world.auth("staff_b")).json()
    assert {g["guardian_id"] for g in listed} == {"hleakb1", "g1"}
    users = world.client.get(f"{S2}/users", headers=head).json()
    assert next(u["guardian_id"] for u in users if u["username"] == "marat") == "g1"
    token = world.client.post("/api/v1/auth/login", json={"username": "marat", "password": PASSWORD}).json()["token"]
    world.client.cookies.clear()
    children = world.client.get("/api/v1/parents/children", headers={"Authorization": f"Bearer {token}"}).json()
    assert children == [{"pupil_id": "p1", "name": "Dana"}]
    aigerim = world.client.get("/api/v1/parents/children", headers=world.auth("guardian_a")).json()
    assert aigerim == [{"pupil_id": "p1", "name": "Aruzhan"}]  # school 1's g1 still has school 1's p1 only

    # consent withdrawn and the pupil deleted in school 2: school 1's p1 is untouched
    consent = {"granted": True, "given_by": "Marat"}
    assert world.client.put(f"{S2}/pupils/p1/consent", json=consent, headers=head).json()["consent"] is True
    assert world.client.delete(f"{S2}/pupils/p1", headers=head).status_code == 204
    assert world.client.get("/api/v1/schools/school-1/pupils/p1", headers=world.auth("staff_a")).status_code == 200
    assert world.client.get(f"{S2}/pupils/p1", headers=world.auth("staff_b")).status_code == 404


def test_the_door_gallery_and_attendance_of_a_shared_id(world: World) -> None:
    assert _post(world, "/pupils", {"pupil_id": "p1", "name": "Dana"})[0] == 201
    db = connect(world.settings.database)
    try:
        with transaction(db) as conn:
            key = conn.execute("SELECT pupil_id FROM pupils WHERE school_id = 'school-2' AND name = 'Dana'").fetchone()
            privacy.set_consent(conn, key[0], True, "Marat", "test")
            vector = np.ones((1, 128), np.float32) / np.sqrt(128)
            privacy.store_templates(conn, world.settings.template_key_bytes, key[0], "m", vector, None)
    finally:
        db.conn.close()
    gallery = world.client.get("/api/v1/gallery", headers=world.auth("device_b")).json()
    door_id = next(t["pupil_id"] for t in gallery["added"] if t["pupil_id"] != "qleakb1")
    assert door_id == "p1@school-2"  # the door carries the key; school 1's door never sees it
    world.post_events(
        [entry("door-2", 1, school_id="school-2", pupil_id=door_id, captured_at=datetime.now(UTC))], camera="device_b"
    )
    day = world.client.get(f"{S2}/attendance", headers=world.auth("staff_b")).json()
    assert [p["pupil_id"] for p in day["inside"]] == ["p1"]
    one = world.client.get("/api/v1/schools/school-1/attendance", headers=world.auth("staff_a")).json()
    assert one["inside"] == []
    # a door of school 1 naming school 2's key is not a pass of anyone at school 1
    world.post_events([entry("door-1", 2, pupil_id=door_id, captured_at=datetime.now(UTC))])
    assert world.client.get("/api/v1/schools/school-1/attendance", headers=world.auth("staff_a")).json()["inside"] == []


def test_a_taken_id_is_a_conflict_only_within_the_school(world: World) -> None:
    assert _post(world, "/pupils", {"pupil_id": "p1", "name": "Dana"})[0] == 201
    status, again = _post(world, "/pupils", {"pupil_id": "p1", "name": "Dana"})
    assert status == 409 and again["detail"] == "pupil 'p1' exists in this school"
    status, mine = _post(world, "/pupils", {"pupil_id": "qleakb1", "name": "Dana"})
    assert status == 409 and mine["detail"] == "pupil 'qleakb1' exists in this school"
    assert _post(world, "/pupils", {"pupil_id": "x" * 49, "name": "Long"})[0] == 422  # whatever others hold
    camera = world.client.post(f"{S2}/cameras", json={"camera_id": "door-1"}, headers=world.auth("admin_b"))
    assert camera.status_code == 201 and camera.json()["camera_id"] == "door-1.school-2"


def test_a_taken_user_name_says_nothing_of_whose_it_is(world: World) -> None:
    taken = _post(world, "/users", {"username": "staff_a", "password": PASSWORD, "role": "staff"})
    own = _post(world, "/users", {"username": "staff_b", "password": PASSWORD, "role": "staff"})
    assert taken[0] == own[0] == 409
    assert taken[1]["detail"] == "the user name 'staff_a' is not available; choose another"
    assert str(taken[1]).replace("staff_a", "X") == str(own[1]).replace("staff_b", "X")  # the same whoever has it
