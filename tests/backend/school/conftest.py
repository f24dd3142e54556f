"""Two schools with classes, pupils, guardians and accounts of every role, built through the real API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.settings import SchoolSettings, Settings
from kuzet.contracts import EntryEvent, EventBatch
from tests.backend.conftest import ADMIN, TEMPLATE_KEY

PASSWORD = "correct horse battery"


@dataclass
class World:
    client: TestClient
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        if who == "anonymous":
            return {}
        if who == "platform_admin":
            return {"Authorization": f"Bearer {ADMIN}"}
        if who.startswith("device"):
            return {"X-API-Key": self.keys[who]}
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def post_events(self, events: list[EntryEvent], camera: str = "device_a") -> dict[str, object]:
        body = EventBatch(events=tuple(events)).model_dump(mode="json")
        response = self.client.post("/api/v1/events", json=body, headers=self.auth(camera))
        assert response.status_code == 200, response.text
        return dict(response.json())

    def rows(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        from backend.db import connect

        db = connect(self.settings.database)
        try:
            return [tuple(r) for r in db.execute(sql, args).fetchall()]
        finally:
            db.conn.close()


SCHOOLS = {
    "school-1": {
        "name": "School No. 1",
        "class": ("5a", "5A", "08:00"),
        "pupils": [("p1", "Aruzhan"), ("p2", "Timur")],
        "guardians": [
            ("g1", "Aigerim", "kk", "email", "aigerim@example.kz", "p1"),
            ("g2", "Sergei", "ru", "telegram", "100200", "p2"),
        ],
        "users": {"admin_a": None, "staff_a": None, "guardian_a": "g1", "guardian_a2": "g2"},
        "device": ("door-1", "device_a"),
    },
    "school-2": {
        "name": "School No. 2",
        "class": ("7b", "7B", "08:30"),
        "pupils": [("qleakb1", "Zarina-LEAKB")],
        "guardians": [("hleakb1", "Bolat-LEAKB", "en", "sms", "+77010000000", "qleakb1")],
        "users": {"admin_b": None, "staff_b": None, "guardian_b": "hleakb1"},
        "device": ("door-2", "device_b"),
    },
}


def _ok(response: object, status: int = 201) -> dict[str, object]:
    assert getattr(response, "status_code", None) in (status, 200, 204), getattr(response, "text", "")
    return {}


def build_world(tmp_path: Path, **school: object) -> Iterator[World]:
    settings = Settings(
        database=tmp_path / "k.sqlite",
        media_dir=tmp_path / "media",
        admin_token=ADMIN,
        template_key=TEMPLATE_KEY,
        max_upload_bytes=2_000_000,
        school=SchoolSettings(**school),  # type: ignore[arg-type]
    )
    with TestClient(create_app(settings)) as client:
        world = World(client, settings)
        admin = world.auth("platform_admin")
        for sid, spec in SCHOOLS.items():
            _ok(client.post("/api/v1/schools", json={"school_id": sid, "name": spec["name"]}, headers=admin))
            camera, label = spec["device"]  # type: ignore[misc]
            reply = client.post(
                "/api/v1/devices", json={"camera_id": camera, "kind": "school", "site": sid}, headers=admin
            )
            world.keys[label] = reply.json()["api_key"]
            users: dict[str, str | None] = spec["users"]  # type: ignore[assignment]
            school_admin = next(u for u in users if u.startswith("admin"))
            body = {
                "username": school_admin,
                "password": PASSWORD,
                "role": "school_admin",
                "email": f"{school_admin}@s.kz",
            }
            _ok(client.post(f"/api/v1/schools/{sid}/users", json=body, headers=admin))
            world.tokens[school_admin] = _login(client, school_admin)
            head = world.auth(school_admin)
            class_id, class_name, start = spec["class"]  # type: ignore[misc]
            body = {"class_id": class_id, "name": class_name, "start_time": start}
            _ok(client.post(f"/api/v1/schools/{sid}/classes", json=body, headers=head))
            for pid, name in spec["pupils"]:  # type: ignore[attr-defined]
                body = {"pupil_id": pid, "name": name, "class_id": class_id}
                _ok(client.post(f"/api/v1/schools/{sid}/pupils", json=body, headers=head))
            for gid, name, lang, channel, address, pid in spec["guardians"]:  # type: ignore[attr-defined]
                body = {"guardian_id": gid, "name": name, "language": lang, "channel": channel, "address": address}
                _ok(client.post(f"/api/v1/schools/{sid}/guardians", json=body, headers=head))
                _ok(client.put(f"/api/v1/schools/{sid}/guardians/{gid}/pupils/{pid}", headers=head))
            for username, guardian in users.items():
                if username == school_admin:
                    continue
                role = "guardian" if guardian else "staff"
                body = {"username": username, "password": PASSWORD, "role": role, "guardian_id": guardian}
                if role == "staff":
                    body["email"] = f"{username}@s.kz"
                    body["language"] = "en"
                _ok(client.post(f"/api/v1/schools/{sid}/users", json=body, headers=head))
                world.tokens[username] = _login(client, username)
        yield world


def _login(client: TestClient, username: str) -> str:
    reply = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    client.cookies.clear()
    return str(reply.json()["token"])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from build_world(tmp_path, linger_debounce_s=60.0, late_grace_minutes=5, purge_interval_s=0)
