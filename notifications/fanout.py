"""Outbox fan-out through NATS JetStream: committed rows go to the workers by the broker, not by polling claims.

``OutboxRelay`` claims due rows (the same lease-based claim as the polling worker, so two relays never take the same
row) and publishes them, one message per channel and batch, to that channel's subject of a work-queue stream;
``Nats-Msg-Id`` is derived from the rows' ids and attempt numbers, so a relay that publishes a claim twice is
de-duplicated by the server. ``FanoutWorker`` pulls its channels' messages (one durable consumer per channel: an
outage of one channel leaves the others flowing), checks each row is still that claim (status ``sending``, same
lease owner and attempt), sends, records outcomes with the usual ``mark_*`` (retries go back to ``pending`` with
back-off and are re-published later) and only then acknowledges the message. A worker killed mid-delivery leaves
its message unacknowledged: it is redelivered after ``ack_wait_s`` to another worker, which skips rows already
recorded and re-sends the rest with the same dedupe key (Message-ID etc.), as the polling worker does after a lease.
Ingest never waits on any of it: it only writes outbox rows in its own transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig

from notifications import outbox
from notifications.channels.base import Channel
from notifications.config import WorkerConfig
from notifications.database import Connect, transaction
from notifications.jetstream import BrokerUnavailableError, JetStreamLink, Publish, pull
from notifications.outbox import OutboxMessage
from notifications.worker import OutboxWorker, _send

logger = logging.getLogger(__name__)


def stream_config(stream: str, subject_prefix: str, duplicate_window_s: float, replicas: int = 1) -> StreamConfig:
    """The work-queue stream of committed outbox rows (a message is gone once a worker acknowledged it)."""
    return StreamConfig(
        name=stream,
        subjects=[f"{subject_prefix}.outbox.>"],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        duplicate_window=duplicate_window_s,
        num_replicas=replicas,
    )


def encode(messages: Sequence[OutboxMessage], owner: str) -> bytes:
    """The JSON of one batch: the rows as channels see them and the lease owner that claimed them."""
    return json.dumps({"owner": owner, "rows": [asdict(m) for m in messages]}, ensure_ascii=False).encode()


def decode(payload: bytes) -> tuple[str, list[OutboxMessage]]:
    """(lease owner, rows) of one batch."""
    data = json.loads(payload)
    return str(data["owner"]), [OutboxMessage(**row) for row in data["rows"]]


class OutboxRelay:
    """Claims due outbox rows and publishes them to the broker (run one or more per deployment)."""

    def __init__(
        self, connect: Connect, link: JetStreamLink, channels: Sequence[str], config: WorkerConfig, *, stream: str,
        subject_prefix: str, duplicate_window_s: float = 600.0, max_backlog: int = 8,
    ) -> None:  # fmt: skip
        self.link = link
        self.stream = stream
        self.subject_prefix = subject_prefix
        self.max_backlog = max_backlog
        link.ensure_stream(stream_config(stream, subject_prefix, duplicate_window_s))
        self.claimer = OutboxWorker(connect, {name: _NoChannel(name) for name in channels}, config)

    def run_once(self, limit: int = 500) -> int:
        """Claim up to ``limit`` due rows and publish them in batches per channel; returns how many.

        Nothing is claimed while the stream holds ``max_backlog`` undelivered batches or more: claims waiting in
        the stream would outlive their lease and be claimed and published again (the workers would skip them, but
        the work and the stream would grow with the backlog)."""
        if self.link.call(self.link.js.stream_info(self.stream)).state.messages >= self.max_backlog:
            return 0
        claimed = self.claimer.claim(limit)
        by_channel: dict[str, list[OutboxMessage]] = defaultdict(list)
        for message in claimed:
            by_channel[message.channel].append(message)
        batch = self.claimer.config.batch_size
        publishes = []
        for channel, rows in by_channel.items():
            for start in range(0, len(rows), batch):
                chunk = rows[start : start + batch]
                ident = ",".join(f"{m.id}:{m.attempts}" for m in chunk)
                msg_id = "outbox:" + hashlib.sha256(ident.encode()).hexdigest()[:40]
                subject = f"{self.subject_prefix}.outbox.{channel}"
                publishes.append(Publish(subject, encode(chunk, self.claimer.owner), msg_id))
        self.link.publish_many(publishes)  # unpublished claims are due again when their lease ends
        return len(claimed)

    def run(self, stop: threading.Event, idle_s: float = 0.05) -> None:
        """Relay until ``stop`` is set; waits ``idle_s`` when nothing was due."""
        while not stop.is_set():
            try:
                if self.run_once() == 0:
                    stop.wait(idle_s)
            except BrokerUnavailableError as exc:
                logger.error("outbox relay: %s; the claims are due again after their lease", exc)
                stop.wait(1.0)

    def close(self) -> None:
        """Close the database connection."""
        self.claimer.close()


class _NoChannel:
    """A channel name the relay claims for; it never sends."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, message: OutboxMessage) -> Any:
        """Never called: the relay only claims."""
        raise RuntimeError(f"the relay does not send ({self.name})")


class FanoutWorker:
    """Delivers the outbox batches of its channels taken from the broker (several may run side by side)."""

    def __init__(
        self, connect: Connect, link: JetStreamLink, channels: Mapping[str, Channel], config: WorkerConfig, *,
        stream: str, subject_prefix: str, ack_wait_s: float = 30.0,
    ) -> None:  # fmt: skip
        self.link = link
        self.recorder = OutboxWorker(connect, channels, config)
        self.subs = {
            name: link.call(
                link.js.pull_subscribe(
                    f"{subject_prefix}.outbox.{name}",
                    durable=f"notify-{name}",
                    stream=stream,
                    config=ConsumerConfig(durable_name=f"notify-{name}", ack_policy=AckPolicy.EXPLICIT,
                                          ack_wait=ack_wait_s, max_ack_pending=1000),
                )
            )
            for name in channels
        }  # fmt: skip

    async def _fetch(self, name: str, count: int, wait_s: float) -> list[Any]:
        return await pull(self.subs[name], count, wait_s, f"notify-{name}")

    def deliver(self, payload: bytes) -> int:
        """Send the rows of one batch that are still its claim and record the outcomes; returns how many were sent."""
        owner, rows = decode(payload)
        with transaction(self.recorder.conn) as conn:
            state = outbox.leases(conn, [m.id for m in rows])
        live = [m for m in rows if state.get(m.id) == ("sending", owner, m.attempts)]
        worker = self.recorder
        futures = [worker.pool.submit(_send, worker.channels[m.channel], m) for m in live]
        outcomes = [f.result() for f in futures]
        saved = worker.owner
        worker.owner = owner  # record under the relay's lease, as the claim that was published
        try:
            worker.record(outcomes)
        finally:
            worker.owner = saved
        return len(live)

    def run_once(self, wait_s: float = 0.5) -> int:
        """Take and deliver what is waiting on each channel; returns how many rows were sent."""
        sent = 0
        for name in self.subs:
            for message in self.link.call(self._fetch(name, 4, wait_s), wait_s + self.link.timeout_s):
                sent += self.deliver(message.data)
                self.link.call(message.ack_sync())
        return sent

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set; a broker outage is logged and waited out."""
        while not stop.is_set():
            try:
                self.run_once()
            except BrokerUnavailableError as exc:
                logger.error("fan-out worker: %s; retrying", exc)
                stop.wait(1.0)

    def close(self) -> None:
        """Stop the send threads, close the channels and the database connection."""
        self.recorder.close()
