"""CSV exports (day and monthly report), the parents' page and the audit log of views and exports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from backend.db import connect
from tests.backend.school.conftest import PASSWORD, World
from tests.support.events import T0, entry

BASE = "/api/v1/schools/school-1"


def _at(day: int, minutes: float) -> datetime:
    return T0.replace(day=day) + timedelta(minutes=minutes)


def _seed(world: World) -> None:
    world.post_events([
        entry("door-1", 0, pupil_id="p1", captured_at=_at(1, 0)),          # 07:50 on time
        entry("door-1", 1, pupil_id="p1", direction="left", captured_at=_at(1, 420)),
        entry("door-1", 2, pupil_id="p2", captured_at=_at(1, 30), temperature_c=38.0),  # 08:20 late, fever
        entry("door-1", 3, pupil_id="p1", captured_at=_at(2, 20)),         # 2 Sept 08:10 late
    ])  # fmt: skip


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_day_export(world: World) -> None:
    _seed(world)
    reply = world.client.get(f"{BASE}/exports/attendance.csv?day=2026-09-01", headers=world.auth("staff_a"))
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    rows = _csv(reply.text)
    assert rows[0][:4] == ["pupil_id", "name", "class", "state"]
    assert rows[1:] == [
        ["p1", "Aruzhan", "5A", "left", "07:50", "14:50", "0", "0", "", ""],
        ["p2", "Timur", "5A", "inside", "08:20", "", "1", "1", "38.0", ""],  # a door that did not say its source
    ]


def test_monthly_report(world: World) -> None:
    _seed(world)
    reply = world.client.get(f"{BASE}/exports/attendance.csv?month=2026-09", headers=world.auth("admin_a"))
    rows = _csv(reply.text)
    header = rows[0]
    assert header[3] == "2026-09-01" and header[-3:] == ["present", "late", "absent"]
    weekdays = len(header) - 6
    assert weekdays == 22  # September 2026 has 22 weekdays
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id["p1"][3:5] == ["P", "L"] and by_id["p1"][-3:] == ["2", "1", str(weekdays - 2)]
    assert by_id["p2"][3:5] == ["L", ""] and by_id["p2"][-3:] == ["1", "1", str(weekdays - 1)]
    bad = world.client.get(f"{BASE}/exports/attendance.csv", headers=world.auth("admin_a"))
    assert bad.status_code == 422 and "exactly one" in bad.text


def test_parents_page_shows_only_own_children(world: World) -> None:
    zone = ZoneInfo(world.settings.school.timezone)
    now = datetime.now(UTC).replace(microsecond=0)
    times = [now - timedelta(days=2, hours=1), now - timedelta(days=2), now - timedelta(days=1)]
    world.post_events([
        entry("door-1", 0, pupil_id="p1", captured_at=times[0]),
        entry("door-1", 1, pupil_id="p1", direction="left", captured_at=times[1]),
        entry("door-1", 2, pupil_id="p1", captured_at=times[2]),
        entry("door-1", 3, pupil_id="p2", captured_at=times[2]),
    ])  # fmt: skip
    page = world.client.get("/parents", headers=world.auth("guardian_a"))
    assert page.status_code == 200
    assert "Aruzhan" in page.text and "Timur" not in page.text
    passes = world.client.get("/api/v1/parents/children/p1/passes", headers=world.auth("guardian_a")).json()
    local = [t.astimezone(zone) for t in times]
    assert [(p["day"], p["time"], p["direction"]) for p in passes] == [
        (t.date().isoformat(), t.strftime("%H:%M"), d)
        for t, d in zip(local[::-1], ["entered", "left", "entered"], strict=True)
    ]
    assert local[0].strftime("%H:%M") in page.text


def test_views_and_exports_are_audited(world: World) -> None:
    _seed(world)
    world.client.get(f"{BASE}/exports/attendance.csv?day=2026-09-01", headers=world.auth("staff_a"))
    world.client.get(f"{BASE}/pupils/p2", headers=world.auth("staff_a"))
    world.client.get("/api/v1/parents/children/p1/passes", headers=world.auth("guardian_a"))
    for _ in range(3):  # a polling dashboard is one view
        world.client.get(f"{BASE}/attendance?day=2026-09-01", headers=world.auth("staff_a"))
    log = world.client.get(f"{BASE}/audit", headers=world.auth("admin_a")).json()
    actions = [(e["role"], e["action"], e["subject"]) for e in log if e["action"] != "create_user"]
    assert actions == [
        ("staff", "view_attendance", "day:2026-09-01"),
        ("guardian", "view_child_passes", "pupil:p1"),
        ("staff", "view_pupil", "pupil:p2"),
        ("staff", "export_attendance", "day:2026-09-01"),
    ]


def test_dead_letters_are_shown_to_staff(world: World) -> None:
    world.post_events([entry("door-1", 0, pupil_id="p2")])
    db = connect(world.settings.database)
    db.execute("UPDATE outbox SET status = 'dead', last_error = '403 Forbidden: bot was blocked by the user'")
    db.conn.close()
    data = world.client.get(f"{BASE}/attendance?day=2026-09-01", headers=world.auth("staff_a")).json()
    assert data["failed"] == [
        {"recipient": "100200", "channel": "telegram", "reason": "403 Forbidden: bot was blocked by the user",
         "kind": "pupil_entered"}
    ]  # fmt: skip
    page = world.client.get("/schools/school-1/dashboard", headers=world.auth("staff_a"))
    assert "bot was blocked by the user" in page.text
    other = world.client.get("/api/v1/schools/school-2/attendance", headers=world.auth("staff_b")).json()
    assert other["failed"] == []


def test_school_admin_registers_a_door_camera_of_their_own_school(world: World) -> None:
    reply = world.client.post(f"{BASE}/cameras", json={"camera_id": "door-9", "description": "gym"},
                              headers=world.auth("admin_a"))  # fmt: skip
    assert reply.status_code == 201
    key = reply.json()["api_key"]
    gallery = world.client.get("/api/v1/gallery", headers={"X-API-Key": key}).json()
    assert gallery["school_id"] == "school-1"
    cameras = world.client.get(f"{BASE}/cameras", headers=world.auth("staff_a")).json()
    assert [c["camera_id"] for c in cameras] == ["door-1", "door-9"]
    # school 2 has a door-2: school 1's door-2 is registered under its own id, school 2's camera is not taken over
    same_name = world.client.post(f"{BASE}/cameras", json={"camera_id": "door-2"}, headers=world.auth("admin_a"))
    assert same_name.status_code == 201 and same_name.json()["camera_id"] == "door-2.school-1"
    assert world.rows("SELECT camera_id, site FROM devices WHERE camera_id LIKE 'door-2%' ORDER BY camera_id") == [
        ("door-2", "school-2"),
        ("door-2.school-1", "school-1"),
    ]
    again = world.client.post(f"{BASE}/cameras", json={"camera_id": "door-2"}, headers=world.auth("admin_a"))
    assert again.status_code == 409 and "school-2" not in again.text  # this school has one now


def test_password_guessing_is_locked_out(world: World) -> None:
    wrong = {"username": "staff_a", "password": "not the password"}
    codes = [world.client.post("/api/v1/auth/login", json=wrong).status_code for _ in range(10)]
    assert codes == [401] * 10
    right = {"username": "staff_a", "password": PASSWORD}
    locked = world.client.post("/api/v1/auth/login", json=right)
    assert locked.status_code == 429 and "wait" in locked.text
    other = world.client.post("/api/v1/auth/login", json={"username": "admin_a", "password": PASSWORD})
    assert other.status_code == 200  # only the guessed user name is locked
    unknown = world.client.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"})
    assert unknown.status_code == 401 and "user name or password is wrong" in unknown.text


def test_deleting_an_account_ends_its_sessions(world: World) -> None:
    users = world.client.get(f"{BASE}/users", headers=world.auth("admin_a")).json()
    staff = next(u["user_id"] for u in users if u["username"] == "staff_a")
    assert world.client.get("/api/v1/auth/me", headers=world.auth("staff_a")).status_code == 200
    assert world.client.delete(f"{BASE}/users/{staff}", headers=world.auth("admin_a")).status_code == 204
    assert world.client.get("/api/v1/auth/me", headers=world.auth("staff_a")).status_code == 401
    me = world.client.get("/api/v1/auth/me", headers=world.auth("admin_a")).json()["user_id"]
    assert world.client.delete(f"{BASE}/users/{me}", headers=world.auth("admin_a")).status_code == 409
