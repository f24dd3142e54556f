"""The whole path: entry events POSTed to the backend (real ingest + attendance handler) -> outbox -> worker ->
real local receivers, one message per pupil pass per guardian channel in the guardian's language; a permanent
refusal shows on the staff dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.db import connector
from backend.settings import Settings
from kuzet.contracts import EntryEvent, EventBatch
from notifications.channels.base import Channel
from notifications.channels.sms_http import SmsHttpChannel
from notifications.channels.smtp import SmtpChannel
from notifications.channels.telegram import TelegramChannel
from notifications.config import SmsConfig, SmtpConfig, TelegramConfig, WorkerConfig
from notifications.worker import OutboxWorker
from tests.backend.conftest import ADMIN, TEMPLATE_KEY
from tests.notifications.servers import SmsGatewayServer, SmtpServer, TelegramServer
from tests.support.events import entry

TOKEN = "123456:AAEexampleBotTokenForTests"
SMS_KEY = "gateway-key-0123456789"


PASSWORD = "correct horse battery"
# school id, door camera, pupils (id, name), guardians (id, language, channel, address, pupil id)
SCHOOLS: dict[str, dict[str, Any]] = {
    "sch-n1": {
        "door": "n1-door",
        "pupils": [("n1p1", "Aruzhan"), ("n1p2", "Timur")],
        "guardians": [
            ("n1g1", "kk", "email", "aigerim@example.kz", "n1p1"),
            ("n1g2", "ru", "telegram", "100200", "n1p2"),
        ],
    },
    "sch-n2": {
        "door": "n2-door",
        "pupils": [("n2p1", "Zarina")],
        "guardians": [("n2g1", "en", "sms", "+77010000000", "n2p1")],
    },
}


@dataclass
class World:
    client: TestClient
    settings: Settings
    keys: dict[str, str]
    tokens: dict[str, str]

    def post(self, school: str, events: list[EntryEvent]) -> None:
        body = EventBatch(events=tuple(events)).model_dump(mode="json")
        reply = self.client.post("/api/v1/events", json=body, headers={"X-API-Key": self.keys[school]})
        assert reply.status_code == 200, reply.text


def _ok(reply: Any) -> Any:
    assert reply.status_code in (200, 201, 204), reply.text
    return reply


def _school(client: TestClient, world: World, sid: str, spec: dict[str, Any]) -> None:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    _ok(client.post("/api/v1/schools", json={"school_id": sid, "name": sid}, headers=admin))
    device = {"camera_id": spec["door"], "kind": "school", "site": sid}
    world.keys[sid] = _ok(client.post("/api/v1/devices", json=device, headers=admin)).json()["api_key"]
    head = admin
    for user, role in ((f"{sid}-admin", "school_admin"), (f"{sid}-staff", "staff")):
        body = {"username": user, "password": PASSWORD, "role": role, "email": f"{user}@s.kz", "language": "en"}
        _ok(client.post(f"/api/v1/schools/{sid}/users", json=body, headers=head))
        login = _ok(client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD}))
        client.cookies.clear()
        world.tokens[user] = login.json()["token"]
        if role == "school_admin":
            head = {"Authorization": f"Bearer {world.tokens[user]}"}
    _ok(
        client.post(
            f"/api/v1/schools/{sid}/classes",
            json={"class_id": f"{sid}-5a", "name": "5A", "start_time": "08:30"},
            headers=head,
        )
    )
    for pid, name in spec["pupils"]:
        body = {"pupil_id": pid, "name": name, "class_id": f"{sid}-5a"}
        _ok(client.post(f"/api/v1/schools/{sid}/pupils", json=body, headers=head))
    for gid, language, channel, address, pid in spec["guardians"]:
        body = {"guardian_id": gid, "name": gid, "language": language, "channel": channel, "address": address}
        _ok(client.post(f"/api/v1/schools/{sid}/guardians", json=body, headers=head))
        _ok(client.put(f"/api/v1/schools/{sid}/guardians/{gid}/pupils/{pid}", headers=head))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    fields: dict[str, Any] = {"database": tmp_path / "k.sqlite", "media_dir": tmp_path / "media", "admin_token": ADMIN}
    if "template_key" in Settings.model_fields:
        fields["template_key"] = TEMPLATE_KEY
    settings = Settings.model_validate(fields)
    with TestClient(create_app(settings)) as client:
        built = World(client, settings, {}, {})
        for sid, spec in SCHOOLS.items():
            _school(client, built, sid, spec)
        yield built


@pytest.fixture
def receivers() -> Iterator[tuple[SmtpServer, TelegramServer, SmsGatewayServer]]:
    servers = (SmtpServer().start(), TelegramServer(TOKEN).start(), SmsGatewayServer(SMS_KEY).start())
    yield servers
    for server in servers:
        server.stop()


def _drain(world: World, receivers: tuple[SmtpServer, TelegramServer, SmsGatewayServer]) -> int:
    smtp, telegram, sms = receivers
    channels: dict[str, Channel] = {
        "email": SmtpChannel(SmtpConfig(host="127.0.0.1", port=smtp.port, sender="kuzet@school.kz", starttls=False)),
        "telegram": TelegramChannel(TelegramConfig(base_url=telegram.url, token=TOKEN)),
        "sms": SmsHttpChannel(SmsConfig(url=f"{sms.url}/api/v1/send", api_key=SMS_KEY)),
    }
    worker = OutboxWorker(connector(world.settings.database), channels, WorkerConfig())
    total = 0
    while claimed := worker.run_once():
        total += claimed
    worker.close()
    return total


def test_entries_reach_each_guardian_once_in_their_language(
    world: World, receivers: tuple[SmtpServer, TelegramServer, SmsGatewayServer]
) -> None:
    smtp, telegram, sms = receivers
    door1, door2 = SCHOOLS["sch-n1"]["door"], SCHOOLS["sch-n2"]["door"]
    world.post(
        "sch-n1",
        [
            entry(door1, n=0, pupil_id="n1p1", school_id="sch-n1"),
            entry(door1, n=1, pupil_id="n1p2", school_id="sch-n1"),
        ],
    )
    world.post("sch-n1", [entry(door1, n=8, pupil_id="n1p1", school_id="sch-n1")])  # lingering: the same pass
    world.post("sch-n2", [entry(door2, n=2, pupil_id="n2p1", school_id="sch-n2")])
    assert _drain(world, receivers) == 3
    assert [(r.recipient, "Aruzhan мектепке 07:50-де кірді" in r.text) for r in smtp.received] == [
        ("aigerim@example.kz", True)
    ]
    assert [(r.recipient, r.text) for r in telegram.received] == [("100200", "Timur: вход в школу в 07:50")]
    assert [(r.recipient, r.text) for r in sms.received] == [("+77010000000", "Zarina entered school at 07:50")]
    assert _drain(world, receivers) == 0


def test_permanent_refusal_is_shown_on_the_dashboard(
    world: World, receivers: tuple[SmtpServer, TelegramServer, SmsGatewayServer]
) -> None:
    smtp, _, _ = receivers
    smtp.refused.add("aigerim@example.kz")
    world.post("sch-n1", [entry(SCHOOLS["sch-n1"]["door"], n=0, pupil_id="n1p1", school_id="sch-n1")])
    assert _drain(world, receivers) == 1
    assert smtp.received == []
    page = world.client.get(
        "/schools/sch-n1/dashboard", headers={"Authorization": f"Bearer {world.tokens['sch-n1-staff']}"}
    )
    assert page.status_code == 200, page.text
    assert "aigerim@example.kz" in page.text
    assert "550 5.1.1" in page.text
    other = world.client.get(
        "/schools/sch-n2/dashboard", headers={"Authorization": f"Bearer {world.tokens['sch-n2-staff']}"}
    )
    assert other.status_code == 200, other.text
    assert "aigerim@example.kz" not in other.text


def test_worker_inside_the_backend_delivers_without_kuzet_notify(tmp_path: Path) -> None:
    import time

    smtp = SmtpServer().start()
    fields: dict[str, Any] = {
        "database": tmp_path / "k.sqlite",
        "media_dir": tmp_path / "media",
        "admin_token": ADMIN,
        "notifications": {
            "run_in_backend": True,
            "smtp": {"host": "127.0.0.1", "port": smtp.port, "sender": "k@s.kz", "starttls": False},
            "worker": {"poll_interval_s": 0.05},
        },
    }
    if "template_key" in Settings.model_fields:
        fields["template_key"] = TEMPLATE_KEY
    settings = Settings.model_validate(fields)
    try:
        with TestClient(create_app(settings)) as client:
            world = World(client, settings, {}, {})
            _school(client, world, "sch-n1", SCHOOLS["sch-n1"])
            world.post("sch-n1", [entry(SCHOOLS["sch-n1"]["door"], n=0, pupil_id="n1p1", school_id="sch-n1")])
            deadline = time.monotonic() + 10
            while not smtp.received and time.monotonic() < deadline:
                time.sleep(0.02)
    finally:
        smtp.stop()
    assert [r.recipient for r in smtp.received] == ["aigerim@example.kz"]
