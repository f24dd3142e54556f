"""The vehicle-event aggregator: folds the stream into per-camera per-minute counts and speed statistics.

A durable pull consumer (ack policy *all*: acknowledging a message acknowledges every earlier one) hands out up to
``fetch`` messages at a time; their sums are added to ``vehicle_minutes`` and the consumer's mark (the last stream
sequence) is moved in the same database transaction, and only then is the last message acknowledged. A message
redelivered after a crash between the commit and the ack is at or below the mark and skipped, so every event is
counted exactly once; ``max_ack_pending`` = ``fetch`` keeps later messages back while a batch is unacknowledged, so
the mark never jumps over a message that was not counted. Run one aggregator per consumer name.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from backend.broker.config import BrokerSettings
from backend.broker.streams import vehicles_config, vehicles_stream
from backend.store import vehicle_minutes as store
from backend.store.vehicle_minutes import Minute
from notifications.database import Connect, transaction
from notifications.jetstream import BrokerUnavailableError, JetStreamLink, pull

logger = logging.getLogger(__name__)


def fold(payloads: list[bytes], into: dict[tuple[str, str], Minute] | None = None) -> dict[tuple[str, str], Minute]:
    """Add the vehicle events of each payload (a JSON array of wire events) to per (camera, UTC minute) sums."""
    minutes = {} if into is None else into
    for payload in payloads:
        for event in json.loads(payload):
            key = (str(event["camera_id"]), str(event["captured_at"])[:16])
            minute = minutes.get(key)
            if minute is None:
                minute = minutes[key] = Minute(*key)
            speed = event.get("speed_kmh")
            minute.add(None if speed is None else float(speed))
    return minutes


class VehicleAggregator:
    """One durable consumer of the vehicle stream writing ``vehicle_minutes`` (owns its database connection)."""

    def __init__(
        self, connect: Connect, link: JetStreamLink, settings: BrokerSettings, name: str = "aggregator"
    ) -> None:
        self.link = link
        self.name = name
        self.fetch_size = min(settings.aggregate_batch, 256)
        link.ensure_stream(vehicles_config(settings))
        config = ConsumerConfig(
            durable_name=name,
            ack_policy=AckPolicy.ALL,
            deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=self.fetch_size,
            ack_wait=30.0,
        )
        subject = f"{settings.subject_prefix}.vehicles.>"
        self.sub = link.call(
            link.js.pull_subscribe(subject, durable=name, stream=vehicles_stream(settings), config=config)
        )
        self.conn = connect()

    async def _fetch(self, wait_s: float) -> list[Any]:
        return await pull(self.sub, self.fetch_size, wait_s, f"aggregator {self.name}")

    def run_once(self, wait_s: float = 1.0) -> int:
        """Fetch, fold and commit one batch, then acknowledge it; returns how many vehicle events were counted."""
        messages = self.link.call(self._fetch(wait_s), wait_s + self.link.timeout_s)
        if not messages:
            return 0
        with transaction(self.conn) as conn:
            done = store.mark(conn, self.name)
            fresh = [m for m in messages if m.metadata.sequence.stream > done]
            minutes = fold([m.data for m in fresh])
            store.add_minutes(conn, list(minutes.values()))
            last = max(m.metadata.sequence.stream for m in messages)
            store.set_mark(conn, self.name, max(last, done), datetime.now(UTC).isoformat())
        self.link.call(max(messages, key=lambda m: m.metadata.sequence.stream).ack())  # acks every earlier one
        if len(fresh) < len(messages):
            logger.info("aggregator %s: skipped %d redelivered message(s)", self.name, len(messages) - len(fresh))
        return sum(m.vehicles for m in minutes.values())

    def run(self, stop: threading.Event, wait_s: float = 1.0) -> None:
        """Aggregate until ``stop`` is set; a broker or database error is logged and retried after a pause."""
        while not stop.is_set():
            try:
                self.run_once(wait_s)
            except (BrokerUnavailableError, OSError) as exc:
                logger.error("aggregator %s: %s; retrying", self.name, exc)
                stop.wait(0.5)
            except Exception:
                logger.exception("aggregator %s: batch failed; it is redelivered after the ack wait", self.name)
                stop.wait(1.0)

    def close(self) -> None:
        """Close the database connection (the link is the caller's)."""
        self.conn.close()
