"""Outbox fan-out through JetStream on real servers: relay, two workers, a real SMTP server; a worker that dies
with a batch in hand leaves it to the other, and every dedupe key reaches the receiver exactly once."""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from backend.db import connect, connector, migrate, transaction
from kuzet.city.nats import NatsServer
from notifications import outbox
from notifications.channels.smtp import SmtpChannel
from notifications.config import SmtpConfig, WorkerConfig
from notifications.fanout import FanoutWorker, OutboxRelay
from notifications.jetstream import JetStreamLink
from tests.notifications.servers import SmtpServer

_names = itertools.count()
MESSAGE_ID = re.compile(r"^Message-ID: (.+)$", re.M | re.I)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = connect(tmp_path / "k.sqlite")
    migrate(database)
    yield database
    database.conn.close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def _enqueue(db: sqlite_utils.Database, count: int) -> None:
    with transaction(db) as conn:
        for i in range(count):
            outbox.enqueue(
                conn, channel="email", recipient=f"parent{i}@example.kz", subject="Kuzet", body=f"pass {i}",
                dedupe_key=f"entry:p{i}:1:g{i}:email", school_id="s1", kind="entered", language="en",
            )  # fmt: skip


def test_two_workers_deliver_each_message_once_even_when_one_dies_holding_a_batch(
    nats_server: NatsServer, db: sqlite_utils.Database, smtp: SmtpServer, tmp_path: Path
) -> None:
    tag = next(_names)
    stream, prefix = f"FANOUT{tag}", f"fan{tag}"
    config = WorkerConfig(batch_size=20, concurrency=4, lease_s=60)
    channel = {"email": SmtpChannel(SmtpConfig(host="127.0.0.1", port=smtp.port, sender="k@demo.kz", starttls=False))}
    connect_db = connector(tmp_path / "k.sqlite")
    link = JetStreamLink(nats_server.url, name="fanout-test")
    relay = OutboxRelay(connect_db, link, ["email"], config, stream=stream, subject_prefix=prefix)
    dying = FanoutWorker(connect_db, link, channel, config, stream=stream, subject_prefix=prefix, ack_wait_s=1.0)
    _enqueue(db, 100)
    try:
        assert relay.run_once() == 100  # five batches of 20 on the email subject
        held = link.call(dying._fetch("email", 1, 1.0))  # the dying worker takes one batch and never acknowledges
        assert len(held) == 1
        survivor = FanoutWorker(connect_db, link, channel, config, stream=stream, subject_prefix=prefix)
        stop = threading.Event()
        thread = threading.Thread(target=survivor.run, args=(stop,))
        thread.start()
        deadline = time.monotonic() + 20
        while outbox.counts(db.conn)["sent"] < 100 and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        thread.join(10)
        survivor.close()
        dying.close()
    finally:
        relay.close()
        link.close()
    ids = Counter(m for r in smtp.received for m in MESSAGE_ID.findall(r.text))
    assert outbox.counts(db.conn)["sent"] == 100 and len(ids) == 100 and set(ids.values()) == {1}
