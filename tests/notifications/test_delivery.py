"""Outbox -> worker -> real local receivers (aiosmtpd, Telegram Bot API, SMS gateway), for every channel.

The worker's clock is injected, so back-off and lease expiry are crossed by moving the clock, not by sleeping.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from backend.db import connect, connector, transaction
from notifications import outbox
from notifications.channels.base import Channel
from notifications.channels.sms_http import SmsHttpChannel
from notifications.channels.smtp import SmtpChannel
from notifications.channels.telegram import TelegramChannel
from notifications.config import SmsConfig, SmtpConfig, TelegramConfig, WorkerConfig
from notifications.templates import render
from notifications.worker import OutboxWorker
from tests.notifications.servers import SmsGatewayServer, SmtpServer, TelegramServer

TOKEN = "123456:AAEexampleBotTokenForTests"
SMS_KEY = "gateway-key-0123456789"
CONFIG = WorkerConfig(backoff_initial_s=2.0, backoff_jitter=0.0, max_attempts=4, lease_s=30.0, concurrency=4)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Setup:
    """A started receiver, the real channel pointed at it, and a good and a permanently refused recipient."""

    server: Any
    channel: Channel
    good: str
    bad: str
    refuse: Callable[[], None]


def _smtp() -> Setup:
    server = SmtpServer().start()
    channel = SmtpChannel(SmtpConfig(host="127.0.0.1", port=server.port, sender="kuzet@school.kz", starttls=False))
    return Setup(server, channel, "mum@example.kz", "gone@example.kz", lambda: server.refused.add("gone@example.kz"))


def _telegram() -> Setup:
    server = TelegramServer(TOKEN).start()
    channel = TelegramChannel(TelegramConfig(base_url=server.url, token=TOKEN))
    return Setup(server, channel, "5551234", "5550000", lambda: server.blocked.add("5550000"))


def _sms() -> Setup:
    server = SmsGatewayServer(SMS_KEY).start()
    channel = SmsHttpChannel(SmsConfig(url=f"{server.url}/api/v1/send", api_key=SMS_KEY))
    return Setup(server, channel, "+77011234567", "+1555", lambda: None)


CHANNELS = {"email": _smtp, "telegram": _telegram, "sms": _sms}
PERMANENT_REASON = {"email": "550 5.1.1", "telegram": "HTTP 403", "sms": "HTTP 400"}


@pytest.fixture(params=sorted(CHANNELS))
def setup(request: pytest.FixtureRequest) -> Iterator[Setup]:
    made = CHANNELS[request.param]()
    yield made
    made.server.stop()


def _worker(db_path: Path, setup: Setup, clock: Clock, config: WorkerConfig = CONFIG) -> OutboxWorker:
    return OutboxWorker(
        connector(db_path), {setup.channel.name: setup.channel}, config, clock=clock, rng=random.Random(0)
    )


def _enqueue(db_path: Path, setup: Setup, recipient: str, key: str, clock: Clock) -> None:
    from datetime import UTC, datetime

    subject, body = render("entered", "en", name="Aruzhan", time=datetime(2026, 9, 1, 2, 52, tzinfo=UTC))
    db = connect(db_path)
    with transaction(db) as conn:
        outbox.enqueue(
            conn,
            channel=setup.channel.name,
            recipient=recipient,
            subject=subject,
            body=body,
            dedupe_key=key,
            school_id="school-1",
            kind="entered",
            language="en",
            now=clock(),
        )
    db.conn.close()


def _state(db_path: Path, key: str) -> outbox.DeliveryState:
    db = connect(db_path)
    found = outbox.state(db.conn, key)
    db.conn.close()
    assert found is not None
    return found


def test_enqueued_message_is_delivered(db_path: Path, setup: Setup) -> None:
    clock = Clock()
    _enqueue(db_path, setup, setup.good, "pass:1:g1", clock)
    worker = _worker(db_path, setup, clock)
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    worker.close()
    assert [(r.recipient, "Aruzhan entered school at 07:52" in r.text) for r in setup.server.received] == [
        (setup.good, True)
    ]
    state = _state(db_path, "pass:1:g1")
    assert (state.status, state.attempts, state.last_error) == ("sent", 1, None)
    assert state.provider_id


@pytest.mark.parametrize("outage", ["port closed", "temporary error reply"])
def test_channel_down_for_a_while_then_delivered_exactly_once(db_path: Path, setup: Setup, outage: str) -> None:
    clock = Clock()
    _enqueue(db_path, setup, setup.good, "pass:2:g1", clock)
    worker = _worker(db_path, setup, clock)
    if outage == "port closed":
        setup.server.stop()
    else:
        setup.server.fail_next = 2
    assert worker.run_once() == 1  # attempt 1 fails
    state = _state(db_path, "pass:2:g1")
    assert (state.status, state.attempts) == ("pending", 1)
    assert state.last_error
    assert TOKEN not in state.last_error and SMS_KEY not in state.last_error  # staff see reasons, not secrets
    assert worker.run_once() == 0  # not due before the back-off (2 s) has passed
    clock.now += 2.0
    assert worker.run_once() == 1  # attempt 2 fails too, next delay 4 s
    assert _state(db_path, "pass:2:g1").next_attempt_at.timestamp() == pytest.approx(clock.now + 4.0)
    if outage == "port closed":
        setup.server.start()
    clock.now += 4.0
    assert worker.run_once() == 1
    clock.now += 3600.0
    assert worker.run_once() == 0
    worker.close()
    assert len(setup.server.received) == 1
    state = _state(db_path, "pass:2:g1")
    assert (state.status, state.attempts, state.last_error) == ("sent", 3, None)


def test_permanent_refusal_is_a_dead_letter_with_reason(db_path: Path, setup: Setup) -> None:
    clock = Clock()
    setup.refuse()
    _enqueue(db_path, setup, setup.bad, "pass:3:g1", clock)
    worker = _worker(db_path, setup, clock)
    assert worker.run_once() == 1
    clock.now += 3600.0
    assert worker.run_once() == 0  # never retried
    worker.close()
    assert setup.server.received == []
    db = connect(db_path)
    dead = outbox.failed(db.conn, "school-1")
    db.conn.close()
    assert len(dead) == 1
    assert dead[0].recipient == setup.bad and dead[0].attempts == 1
    assert PERMANENT_REASON[setup.channel.name] in dead[0].reason


def test_gives_up_after_max_attempts(db_path: Path, setup: Setup) -> None:
    clock = Clock()
    setup.server.stop()
    _enqueue(db_path, setup, setup.good, "pass:4:g1", clock)
    worker = _worker(db_path, setup, clock)
    for _ in range(CONFIG.max_attempts):
        assert worker.run_once() == 1
        clock.now += CONFIG.backoff_max_s
    assert worker.run_once() == 0
    worker.close()
    state = _state(db_path, "pass:4:g1")
    assert (state.status, state.attempts) == ("dead", CONFIG.max_attempts)
    assert state.last_error is not None and state.last_error.startswith(f"gave up after {CONFIG.max_attempts} attempts")


def test_crashed_worker_row_is_sent_once_after_the_lease(db_path: Path, setup: Setup) -> None:
    clock = Clock()
    _enqueue(db_path, setup, setup.good, "pass:5:g1", clock)
    crashed = _worker(db_path, setup, clock)
    assert len(crashed.claim()) == 1  # claimed, then the process dies before sending
    survivor = _worker(db_path, setup, clock)
    assert survivor.run_once() == 0  # leased by the crashed worker
    clock.now += CONFIG.lease_s + 0.1
    assert survivor.run_once() == 1
    assert survivor.run_once() == 0
    assert len(setup.server.received) == 1
    state = _state(db_path, "pass:5:g1")
    assert (state.status, state.attempts) == ("sent", 2)
    survivor.close()
    crashed.close()


def test_many_messages_many_recipients_each_once(db_path: Path, setup: Setup) -> None:
    clock = Clock()
    for n in range(30):
        _enqueue(db_path, setup, setup.good, f"pass:{n}:g1", clock)
        _enqueue(db_path, setup, setup.good, f"pass:{n}:g1", clock)  # a replayed event
    worker = _worker(db_path, setup, clock, CONFIG.model_copy(update={"batch_size": 7}))
    total = 0
    while claimed := worker.run_once():
        total += claimed
    worker.close()
    assert total == 30
    assert len(setup.server.received) == 30


def test_background_loop_delivers_as_rows_arrive(db_path: Path, setup: Setup) -> None:
    import threading
    import time

    clock = Clock()
    worker = _worker(db_path, setup, clock, CONFIG.model_copy(update={"poll_interval_s": 0.02}))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    for n in range(12):
        _enqueue(db_path, setup, setup.good, f"loop:{n}", clock)
    deadline = time.monotonic() + 20
    while len(setup.server.received) < 12 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(10)
    worker.close()
    assert not thread.is_alive()
    assert len(setup.server.received) == 12
    db = connect(db_path)
    assert outbox.counts(db.conn) == {"pending": 0, "sending": 0, "sent": 12, "dead": 0}
    db.conn.close()


def test_telegram_flood_limit_waits_as_long_as_asked(db_path: Path) -> None:
    made = _telegram()
    server: TelegramServer = made.server
    server.fail_status, server.fail_next, server.retry_after = 429, 1, 45
    clock = Clock()
    _enqueue(db_path, made, made.good, "flood:1", clock)
    worker = _worker(db_path, made, clock)
    assert worker.run_once() == 1
    state = _state(db_path, "flood:1")
    assert state.status == "pending" and "HTTP 429" in (state.last_error or "")
    assert state.next_attempt_at.timestamp() == pytest.approx(clock.now + 45.0)
    clock.now += 45.0
    assert worker.run_once() == 1
    worker.close()
    server.stop()
    assert len(server.received) == 1
