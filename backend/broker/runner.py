"""The broker side of ``kuzet notify`` when ``broker.url`` is set: the vehicle aggregator, and with
``broker.outbox_fanout`` the outbox relay and a fan-out worker instead of the polling worker, as threads of one
process until ``stop`` is set. Several such processes may run side by side (the relay's claims are leased, the
workers share per-channel durable consumers, the aggregators one durable consumer whose mark is in the database)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping

from backend.broker.aggregator import VehicleAggregator
from backend.broker.streams import outbox_stream
from backend.db import connector
from backend.settings import Settings
from notifications.channels.base import Channel
from notifications.fanout import FanoutWorker, OutboxRelay
from notifications.jetstream import JetStreamLink

logger = logging.getLogger(__name__)


def run_broker_workers(settings: Settings, channels: Mapping[str, Channel], stop: threading.Event) -> None:
    """Aggregate vehicle events and (``outbox_fanout``) relay and deliver the outbox until ``stop`` is set."""
    broker = settings.broker
    if broker.url is None:
        raise ValueError("broker.url is not set")
    connect = connector(settings.database, settings.busy_timeout_ms)
    link = JetStreamLink(broker.url, name=f"kuzet-notify-{os.getpid()}", timeout_s=broker.publish_timeout_s)
    loops: list[tuple[str, Callable[[threading.Event], None], Callable[[], None]]] = []
    aggregator = VehicleAggregator(connect, link, broker)
    loops.append(("aggregator", aggregator.run, aggregator.close))
    if broker.outbox_fanout:
        worker_config = settings.notifications.worker
        stream, prefix = outbox_stream(broker), broker.subject_prefix
        relay = OutboxRelay(connect, link, sorted(channels), worker_config, stream=stream, subject_prefix=prefix,
                            duplicate_window_s=broker.duplicate_window_s)  # fmt: skip
        fanout = FanoutWorker(connect, link, channels, worker_config, stream=stream, subject_prefix=prefix)
        loops += [("outbox-relay", relay.run, relay.close), ("outbox-fanout", fanout.run, fanout.close)]
    threads = [threading.Thread(target=run, args=(stop,), name=name, daemon=True) for name, run, _ in loops]
    logger.info("broker %s: running %s", broker.safe_url, [name for name, _, _ in loops])
    for thread in threads:
        thread.start()
    try:
        stop.wait()
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        for _, _, close in loops:
            close()
        link.close()
