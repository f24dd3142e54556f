"""The whole path: entry events POSTed to the backend (real ingest + attendance handler) -> outbox -> worker ->
real local receivers, one message per pupil pass per guardian channel in the guardian's language; a permanent
refusal shows on the staff dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from notifications.channels.base import Channel
from notifications.channels.sms_http import SmsHttpChannel
from notifications.channels.smtp import SmtpChannel
from notifications.channels.telegram import TelegramChannel
from notifications.config import SmsConfig, SmtpConfig, TelegramConfig, WorkerConfig
from notifications.worker import OutboxWorker
from tests.backend.school.conftest import World, build_world
from tests.notifications.servers import SmsGatewayServer, SmtpServer, TelegramServer
from tests.support.events import entry

TOKEN = "123456:AAEexampleBotTokenForTests"
SMS_KEY = "gateway-key-0123456789"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from build_world(tmp_path, linger_debounce_s=60.0, late_grace_minutes=5, purge_interval_s=0)


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
    worker = OutboxWorker(world.settings.database, channels, WorkerConfig())
    total = 0
    while claimed := worker.run_once():
        total += claimed
    worker.close()
    return total


def test_entries_reach_each_guardian_once_in_their_language(
    world: World, receivers: tuple[SmtpServer, TelegramServer, SmsGatewayServer]
) -> None:
    smtp, telegram, sms = receivers
    world.post_events([entry("door-1", n=0, pupil_id="p1"), entry("door-1", n=1, pupil_id="p2")])
    world.post_events([entry("door-1", n=8, pupil_id="p1")])  # lingering in the doorway: same pass
    world.post_events([entry("door-2", n=2, pupil_id="q1", school_id="school-2")], camera="device_b")
    assert _drain(world, receivers) == 3
    assert [(r.recipient, "Aruzhan мектепке 07:50-де кірді" in r.text) for r in smtp.received] == [
        ("aigerim@example.kz", True)
    ]
    assert [(r.recipient, r.text) for r in telegram.received] == [("100200", "Timur: вход в школу в 07:50")]
    assert [(r.recipient, r.text) for r in sms.received] == [("+77010000000", "Zarina-LEAKB entered school at 07:50")]
    assert _drain(world, receivers) == 0


def test_permanent_refusal_is_shown_on_the_dashboard(
    world: World, receivers: tuple[SmtpServer, TelegramServer, SmsGatewayServer]
) -> None:
    smtp, _, _ = receivers
    smtp.refused.add("aigerim@example.kz")
    world.post_events([entry("door-1", n=0, pupil_id="p1")])
    assert _drain(world, receivers) == 1
    assert smtp.received == []
    page = world.client.get("/schools/school-1/dashboard", headers=world.auth("staff_a"))
    assert page.status_code == 200, page.text
    assert "aigerim@example.kz" in page.text
    assert "550 5.1.1" in page.text
    other = world.client.get("/schools/school-2/dashboard", headers=world.auth("staff_b"))
    assert "aigerim@example.kz" not in other.text
