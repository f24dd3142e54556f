"""Several outbox workers on one database, on both engines: disjoint claims, purged sent rows, and a worker process
killed mid-delivery whose message goes out once per dedupe key after its lease expires (real subprocess, SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from backend.db import connect, connector, migrate, transaction
from notifications import outbox
from notifications.channels.police_webhook import PoliceWebhookChannel
from notifications.config import PoliceWebhookConfig, WorkerConfig
from notifications.worker import OutboxWorker
from tests.notifications.servers import PoliceReceiver, Reply

SECRET = "0123456789abcdef0123456789abcdef-outbox-workers"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def db_url(database_url: str) -> str:
    db = connect(database_url)
    migrate(db)
    db.conn.close()
    return database_url


def _enqueue(url: str, keys: list[str], now: float | None = None) -> None:
    db = connect(url)
    with transaction(db) as conn:
        for key in keys:
            outbox.enqueue_police(conn, violation_id=key, payload={"plate": "777ABC02"}, summary=f"violation {key}")
    if now is not None:  # back-date the rows (the workers run on their own clock)
        with transaction(db) as conn:
            conn.execute("UPDATE outbox SET created_at = :at, next_attempt_at = :at", {"at": now})
    db.conn.close()


class _Nowhere:
    """A channel a claim-only worker is built with (nothing is sent)."""

    name = "police_webhook"

    def send(self, message: Any) -> Any:
        raise AssertionError("claim-only worker must not send")


def test_workers_claiming_at_once_take_disjoint_rows(db_url: str) -> None:
    keys = [f"v{n}" for n in range(120)]
    _enqueue(db_url, keys)
    config = WorkerConfig(batch_size=7, lease_s=300.0)
    workers = [OutboxWorker(connector(db_url), {"police_webhook": _Nowhere()}, config) for _ in range(4)]  # type: ignore[dict-item]
    claimed: list[list[str]] = [[] for _ in workers]
    rounds = -(-len(keys) // (config.batch_size * len(workers))) + 1
    together = threading.Barrier(len(workers))

    def claim_rounds(i: int) -> None:
        for _ in range(rounds):  # every worker claims in every round, at the same moment as the others
            together.wait(30)
            claimed[i].extend(m.dedupe_key for m in workers[i].claim())

    threads = [threading.Thread(target=claim_rounds, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for worker in workers:
        worker.close()
    every = [key for mine in claimed for key in mine]
    assert sorted(every) == sorted(f"police:{k}" for k in keys), "each row claimed exactly once"
    assert all(len(mine) >= config.batch_size for mine in claimed), "every worker took rows"


def test_sent_rows_are_purged_after_the_retention(db_url: str) -> None:
    day = 86_400.0
    now = 1_900_000_000.0
    _enqueue(db_url, ["old", "new"], now=now - 40 * day)
    receiver = PoliceReceiver(secret=SECRET).start()
    channel = PoliceWebhookChannel(PoliceWebhookConfig(url=f"{receiver.url}/violations", secret=SECRET))
    clock = [now - 40 * day]
    config = WorkerConfig(sent_retention_days=30.0)
    worker = OutboxWorker(connector(db_url), {"police_webhook": channel}, config, clock=lambda: clock[0])
    assert worker.run_once() == 2
    db = connect(db_url)
    db.execute("UPDATE outbox SET sent_at = :at WHERE dedupe_key = 'police:new'", {"at": now - day})
    clock[0] = now
    worker.next_purge = 0.0
    assert worker.run_once() == 0
    assert [s.dedupe_key for s in outbox.states(db.conn)] == ["police:new"]
    db.conn.close()
    worker.close()
    receiver.stop()


class _HoldingReceiver(PoliceReceiver):
    """Holds the first delivery until released (the sender is killed meanwhile), then accepts it like any other."""

    def __init__(self, secret: str) -> None:
        super().__init__(secret=secret)
        self.arrived = threading.Event()
        self.release = threading.Event()

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if not self.arrived.is_set():
            self.arrived.set()
            self.release.wait(30)
        return super().answer(path, headers, body)


WORKER = textwrap.dedent(
    """
    import sys, threading
    from backend.db import connector
    from notifications.channels.police_webhook import PoliceWebhookChannel
    from notifications.config import PoliceWebhookConfig, WorkerConfig
    from notifications.worker import OutboxWorker
    url, receiver, secret = sys.argv[1:4]
    channel = PoliceWebhookChannel(PoliceWebhookConfig(url=receiver, secret=secret))
    config = WorkerConfig(lease_s=1.0, batch_size=1, concurrency=1, poll_interval_s=0.05)
    OutboxWorker(connector(url), {"police_webhook": channel}, config).run(threading.Event())
    """
)


def test_worker_killed_mid_delivery_the_message_goes_out_once_per_key(db_url: str) -> None:
    keys = [f"k{n}" for n in range(5)]
    _enqueue(db_url, keys)
    receiver = _HoldingReceiver(SECRET).start()
    url = f"{receiver.url}/violations"
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, db_url, url, SECRET], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    try:
        assert receiver.arrived.wait(60), "the worker process never delivered"
        proc.send_signal(signal.SIGKILL)  # mid-delivery: claimed, sent, no answer recorded
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    receiver.release.set()  # the receiver accepts what the dead worker sent
    channel = PoliceWebhookChannel(PoliceWebhookConfig(url=url, secret=SECRET))
    survivor = OutboxWorker(connector(db_url), {"police_webhook": channel}, WorkerConfig(lease_s=1.0))
    deadline = time.monotonic() + 30
    db = connect(db_url)
    while outbox.counts(db.conn)["sent"] < len(keys) and time.monotonic() < deadline:
        if not survivor.run_once():
            time.sleep(0.2)  # the dead worker's lease has not expired yet
    survivor.close()
    states = outbox.states(db.conn)
    db.conn.close()
    receiver.stop()
    assert [s.status for s in states] == ["sent"] * len(keys)
    assert max(s.attempts for s in states) == 2, "the killed worker's row was claimed again after its lease"
    delivered = [r.recipient for r in receiver.received]
    assert sorted(delivered) == sorted(f"police:{k}" for k in keys), "each dedupe key accepted exactly once"
    assert receiver.requests > len(keys), "the killed delivery was sent again and dropped as a repeat"
