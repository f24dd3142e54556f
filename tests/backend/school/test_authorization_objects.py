"""The authorisation matrix, second half: "own path + another tenant's object" for every route that takes an id.

School 1's staff call school 1's routes naming school 2's objects (a guardian names another school's child, a door
cites another school's snapshot or posts for its camera). Each must be refused exactly like an id that exists
nowhere ("not yours" = "not there"), leak nothing and change nothing. A route with an id and no row here fails.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kuzet.contracts import Attachment, EventBatch
from tests.backend.school import test_authorization as matrix
from tests.backend.school.conftest import PASSWORD, World
from tests.backend.school.test_authorization import FOREIGN_IDS, JPEG, SPECS, n
from tests.support.events import entry

seeded = matrix.seeded  # the matrix's two-school world (built once for this module too)

# "Own path + another tenant's object": school 1's staff call school 1's routes naming school 2's objects (and a
# guardian names another school's child, a door cites another school's snapshot). Each must be refused like an id
# that does not exist, leak nothing, and change nothing. (route, who, path params, request extras)
FOREIGN_OBJECT_ROWS: list[tuple[str, str, dict[str, str], dict[str, Any]]] = [
    ("GET /api/v1/schools/{school_id}/pupils/{pupil_id}", "staff_a", {"pupil_id": "qleakb1"}, {}),
    ("DELETE /api/v1/schools/{school_id}/pupils/{pupil_id}", "admin_a", {"pupil_id": "qleakb1"}, {}),
    (
        "PUT /api/v1/schools/{school_id}/pupils/{pupil_id}/consent",
        "admin_a",
        {"pupil_id": "qleakb1"},
        {"json": {"granted": False, "given_by": "x"}},
    ),
    (
        "POST /api/v1/schools/{school_id}/pupils/{pupil_id}/photos",
        "admin_a",
        {"pupil_id": "qleakb1"},
        {"files": [("photos", ("a.jpg", JPEG, "image/jpeg"))]},
    ),
    ("GET /api/v1/schools/{school_id}/pupils/{pupil_id}/thumbnail", "staff_a", {"pupil_id": "qleakb1"}, {}),
    (
        "PUT /api/v1/schools/{school_id}/guardians/{guardian_id}/pupils/{pupil_id}",
        "admin_a",
        {"guardian_id": "g1", "pupil_id": "qleakb1"},
        {},
    ),
    (
        "PUT /api/v1/schools/{school_id}/guardians/{guardian_id}/pupils/{pupil_id}",
        "admin_a",
        {"guardian_id": "hleakb1", "pupil_id": "p1"},
        {},
    ),
    (
        "DELETE /api/v1/schools/{school_id}/guardians/{guardian_id}/pupils/{pupil_id}",
        "admin_a",
        {"guardian_id": "hleakb1", "pupil_id": "qleakb1"},
        {},
    ),
    ("DELETE /api/v1/schools/{school_id}/users/{user_id}", "admin_a", {"user_id": "<foreign>"}, {}),
    ("GET /api/v1/schools/{school_id}/unknown/{event_id}/snapshot", "staff_a", {"event_id": "<foreign>"}, {}),
    ("GET /api/v1/cameras/{camera_id}/health/history", "staff_a", {"camera_id": "door-2"}, {}),
    ("GET /api/v1/parents/children/{pupil_id}/passes", "guardian_a", {"pupil_id": "qleakb1"}, {}),
    ("GET /schools/{school_id}/pupils/{pupil_id}", "staff_a", {"pupil_id": "qleakb1"}, {}),
    ("GET /schools/{school_id}/passes/{event_id}/frame", "staff_a", {"event_id": "<foreign>"}, {}),
    ("GET /schools/{school_id}/admin/pupils/{pupil_id}", "admin_a", {"pupil_id": "qleakb1"}, {}),
    (
        "POST /api/v1/schools/{school_id}/pupils/{pupil_id}/photos/check",
        "admin_a",
        {"pupil_id": "qleakb1"},
        {"files": [("photos", ("a.jpg", JPEG, "image/jpeg"))]},
    ),
    ("POST /api/v1/parents/children/{pupil_id}/consent/withdraw", "guardian_a", {"pupil_id": "qleakb1"}, {}),
    ("GET /api/v1/parents/children/{pupil_id}/export.json", "guardian_a", {"pupil_id": "qleakb1"}, {}),
    ("GET /api/v1/parents/children/{pupil_id}/export.csv", "guardian_a", {"pupil_id": "qleakb1"}, {}),
    (
        "POST /api/v1/schools/{school_id}/pupils",
        "admin_a",
        {},
        {"json": {"pupil_id": "np-foreign-class", "name": "N", "class_id": "7b"}},
    ),
    (
        "POST /api/v1/schools/{school_id}/users",
        "admin_a",
        {},
        {"json": {"username": "g-foreign", "password": PASSWORD, "role": "guardian", "guardian_id": "hleakb1"}},
    ),
    ("POST /api/v1/events", "device_a", {}, {"json": "<citing school 2's snapshot>"}),
    ("POST /api/v1/events", "device_a", {}, {"json": "<for school 2's camera>"}),
]
ID_PARAMS = ("{pupil_id}", "{guardian_id}", "{user_id}", "{event_id}", "{camera_id}", "{sha256}")
# routes taking an id that only the platform admin (no tenant) or the uploading device itself may call
NO_TENANT_OBJECT = {
    "POST /api/v1/devices/{camera_id}/revoke",
    "PUT /api/v1/devices/{camera_id}/evidence-key",
    "GET /api/v1/devices/{camera_id}/evidence",
    "GET /api/v1/media/{sha256}",
    "PUT /api/v1/media/{sha256}",
}


def test_every_route_taking_an_id_has_a_foreign_object_row() -> None:
    with_ids = {r for r in SPECS if any(p in r for p in ID_PARAMS)} - NO_TENANT_OBJECT
    assert not with_ids - {row[0] for row in FOREIGN_OBJECT_ROWS}, "add a foreign-object row for these routes"


def _build(world: World, ids: dict[str, str], extras: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """Path values and request extras of a row, with the placeholders resolved to school 2's objects."""
    ids = {k: FOREIGN_IDS[k] if v == "<foreign>" else v for k, v in ids.items()}
    if extras.get("json") == "<citing school 2's snapshot>":
        sha = FOREIGN_IDS["sha256"]
        size = len(world.client.get(f"/api/v1/media/{sha}", headers=world.auth("platform_admin")).content)
        snapshot = Attachment(sha256=sha, media_type="image/jpeg", role="snapshot", size_bytes=size)
        event = entry("door-1", n(), identity="unknown", pupil_id=None, attachments=(snapshot,),
                      captured_at=datetime.now(UTC))  # fmt: skip
        extras = {"json": EventBatch(events=(event,)).model_dump(mode="json")}
    elif extras.get("json") == "<for school 2's camera>":
        event = entry("door-2", n(), school_id="school-2", pupil_id="qleakb1", captured_at=datetime.now(UTC))
        extras = {"json": EventBatch(events=(event,)).model_dump(mode="json")}
    return ids, extras


def _tokens() -> list[str]:
    return [*sorted(FOREIGN_IDS.values(), key=len, reverse=True), "qleakb1", "hleakb1", "door-2", "7b"]


def _ghost_id(token: str) -> str:
    return "0" * 64 if len(token) == 64 else f"ghost{len(token)}"


def _ghost(text: str) -> str:
    """``text`` with every id of school 2's objects replaced by one that exists nowhere."""
    for token in _tokens():
        text = text.replace(token, _ghost_id(token))
    return text


def _ghost_json(value: Any) -> Any:
    """A request body with every string that IS an id of school 2's objects replaced (nothing inside other ids)."""
    if isinstance(value, dict):
        return {k: _ghost_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ghost_json(v) for v in value]
    return _ghost_id(value) if isinstance(value, str) and value in _tokens() else value


def _school_2_state(world: World) -> list[tuple[object, ...]]:
    return world.rows(
        "SELECT (SELECT COUNT(*) FROM pupils WHERE school_id = 'school-2'),"
        " (SELECT granted FROM consents WHERE pupil_id = 'qleakb1'),"
        " (SELECT COUNT(*) FROM guardian_pupils WHERE guardian_id = 'hleakb1'),"
        " (SELECT COUNT(*) FROM users WHERE school_id = 'school-2'),"
        " (SELECT COUNT(*) FROM unknown_faces WHERE school_id = 'school-1'),"
        " (SELECT COUNT(*) FROM events WHERE camera_id = 'door-2')"
    )


@pytest.mark.parametrize(
    ("route", "who", "ids", "extras"),
    FOREIGN_OBJECT_ROWS,
    ids=[f"{r}|{w}|{sorted(i.values())}|{e.get('json', '')}"[:160] for r, w, i, e in FOREIGN_OBJECT_ROWS],
)
def test_own_path_with_another_tenants_object(
    seeded: tuple[World, dict[str, str]], route: str, who: str, ids: dict[str, str], extras: dict[str, Any]
) -> None:
    """Refused, unchanged, and answered exactly as for an id that exists nowhere ("not yours" = "not there")."""
    world, params = seeded
    before = _school_2_state(world)
    method, path = route.split(" ", 1)
    values, kwargs = _build(world, ids, extras)
    url = path.format(**{**params, **values})
    world.client.cookies.clear()
    response = world.client.request(method, url, headers=world.auth(who), **kwargs)
    assert response.status_code in (403, 404, 422), f"{who}: {response.status_code} {response.text[:300]}"
    assert _school_2_state(world) == before, "a refused call changed school 2's data"
    if "json" in kwargs:
        kwargs = {**kwargs, "json": _ghost_json(kwargs["json"])}
    ghost_url = "/".join(_ghost_id(part) if part in _tokens() else part for part in url.split("/"))
    ghost = world.client.request(method, ghost_url, headers=world.auth(who), **kwargs)
    assert (ghost.status_code, _ghost(ghost.text)) == (response.status_code, _ghost(response.text))
    assert "leakb" not in _ghost(response.text).lower() and "school-2" not in response.text, response.text[:300]
