"""SMTP sessions reused across messages, against the real aiosmtpd server of the other channel tests.

A worker's batch goes over few sessions (not one TCP connection + EHLO per message), and a session the relay dropped
is replaced without losing or repeating a message; the outcomes stay per message.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from backend.db import connect, connector, transaction
from notifications import outbox
from notifications.channels import smtp as smtp_module
from notifications.channels.smtp import SmtpChannel
from notifications.config import SmtpConfig, WorkerConfig
from notifications.outbox import OutboxMessage
from notifications.templates import render
from notifications.worker import OutboxWorker
from tests.notifications.servers import SmtpServer, _SmtpHandler


class _PeerHandler(_SmtpHandler):
    """Also records the client's (host, port) of each accepted message: one per TCP session."""

    def __init__(self, server: CountingSmtpServer) -> None:
        super().__init__(server)
        self.counting = server

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        with self.counting.lock:
            self.counting.peers.extend(session.peer for _ in envelope.rcpt_tos)
        return await super().handle_DATA(smtp, session, envelope)


class CountingSmtpServer(SmtpServer):
    def __init__(self) -> None:
        super().__init__()
        self.peers: list[Any] = []

    def start(self) -> CountingSmtpServer:
        self._controller = Controller(_PeerHandler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self


@pytest.fixture
def server() -> Iterator[CountingSmtpServer]:
    made = CountingSmtpServer().start()
    yield made
    made.stop()


def _channel(server: SmtpServer) -> SmtpChannel:
    return SmtpChannel(SmtpConfig(host="127.0.0.1", port=server.port, sender="kuzet@school.kz", starttls=False))


def _message(n: int, recipient: str | None = None) -> OutboxMessage:
    to = recipient or f"parent{n}@example.kz"
    return OutboxMessage(n, f"pass:{n}:g", "email", to, "Entered", f"Pupil {n} entered", "s1", "entered", "en", 1)


def test_many_messages_over_one_session(server: CountingSmtpServer) -> None:
    channel = _channel(server)
    receipts = [channel.send(_message(n)) for n in range(30)]
    channel.close()
    assert len({r.provider_id for r in receipts}) == 30
    assert sorted(r.recipient for r in server.received) == sorted(f"parent{n}@example.kz" for n in range(30))
    assert channel.sessions_opened == 1
    assert len(set(server.peers)) == 1


def test_session_dropped_by_the_relay_is_replaced_without_loss_or_repeat(server: CountingSmtpServer) -> None:
    channel = _channel(server)
    for n in range(5):
        channel.send(_message(n))
    server.stop()  # the relay goes away: the pooled session's connection is closed under the channel
    server.start()
    for n in range(5, 10):
        channel.send(_message(n))
    channel.close()
    counts = Counter(r.recipient for r in server.received)
    assert counts == Counter(f"parent{n}@example.kz" for n in range(10))
    assert channel.sessions_opened == 2
    assert len(set(server.peers)) == 2


def test_refused_recipient_fails_alone_and_the_next_message_goes(server: CountingSmtpServer) -> None:
    channel = _channel(server)
    server.refused.add("gone@example.kz")
    channel.send(_message(1))
    with pytest.raises(smtp_module.PermanentFailure, match="550"):
        channel.send(_message(2, "gone@example.kz"))
    channel.send(_message(3))
    channel.close()
    assert [r.recipient for r in server.received] == ["parent1@example.kz", "parent3@example.kz"]


def test_sessions_are_capped_and_idle_ones_not_reused(server: CountingSmtpServer, monkeypatch: Any) -> None:
    monkeypatch.setattr(smtp_module, "MAX_MESSAGES_PER_SESSION", 4)
    channel = _channel(server)
    for n in range(10):
        channel.send(_message(n))
    assert channel.sessions_opened == 3  # 4 + 4 + 2
    monkeypatch.setattr(smtp_module, "IDLE_S", 0.0)
    channel.send(_message(10))
    channel.close()
    assert channel.sessions_opened == 4
    assert len(server.received) == 11


def test_worker_batch_reuses_sessions_and_records_each_outcome(db_path: Path, server: CountingSmtpServer) -> None:
    """200 rows through the worker's 4 sending threads: at most 4 sessions, every row sent once; after the relay
    restarts mid-way the rest still go, each once."""
    channel = _channel(server)
    subject, body = render("entered", "en", name="Aruzhan", time=datetime(2026, 9, 1, 2, 52, tzinfo=UTC))
    db = connect(db_path)
    with transaction(db) as conn:
        for n in range(200):
            outbox.enqueue(conn, channel="email", recipient=f"parent{n}@example.kz", subject=subject, body=body,
                           dedupe_key=f"pass:{n}", school_id="s1", kind="entered", language="en", now=1.0)  # fmt: skip
    db.conn.close()
    config = WorkerConfig(concurrency=4, batch_size=100, backoff_jitter=0.0)
    worker = OutboxWorker(connector(db_path), {"email": channel}, config, clock=lambda: 2.0, rng=random.Random(0))
    try:
        assert worker.run_once() == 100
        assert channel.sessions_opened <= 4
        server.stop()
        server.start()
        assert worker.run_once() == 100
    finally:
        worker.close()
    db = connect(db_path)
    assert outbox.counts(db.conn) == {"pending": 0, "sending": 0, "sent": 200, "dead": 0}
    db.conn.close()
    assert Counter(r.recipient for r in server.received) == Counter(f"parent{n}@example.kz" for n in range(200))
    assert channel.sessions_opened <= 8


@pytest.mark.parametrize(
    ("recipient", "subject", "body", "transfer"),
    [
        ("mum@example.kz", "Aruzhan entered", "Aruzhan entered school at 07:52", "7bit"),
        ("mum@example.kz", "Арухан мектепке кірді", "Арухан мектепке 07:50-де кірді", "8bit"),
        ("mum@example.kz", "Long", "ж" * 1200, "quoted-printable"),
        ("ана@мектеп.kz", "Арухан", "Арухан кірді", "8bit"),
    ],
)
def test_message_reads_back_as_written(recipient: str, subject: str, body: str, transfer: str) -> None:
    message = OutboxMessage(7, "pass:7:g", "email", recipient, subject, body, "s1", "entered", "kk", 1)
    built = smtp_module.build_email(message, "kuzet@school.kz")
    parsed = message_from_bytes(built.as_bytes(policy=policy.SMTPUTF8), policy=policy.default)
    assert (parsed["To"], parsed["Subject"], parsed["Content-Transfer-Encoding"]) == (recipient, subject, transfer)
    assert parsed.get_content().rstrip("\r\n") == body
    assert parsed["Message-ID"] == built["Message-ID"]


def test_line_break_in_a_header_is_refused() -> None:
    message = OutboxMessage(7, "pass:7:g", "email", "mum@example.kz", "Hi\nBcc: x@y.kz", "b", "s1", "entered", "en", 1)
    with pytest.raises(ValueError, match="linefeed"):
        smtp_module.build_email(message, "kuzet@school.kz")
