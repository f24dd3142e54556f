"""The outbox worker: claim due rows with a lease, send them in parallel, record the outcome.

Delivery is at-least-once with duplicates made as unlikely as the protocol allows: a row is marked ``sending``
with a lease before any network I/O and ``sent`` right after the receiver accepted it. Only a crash in the short
window between the two re-sends it (after ``lease_s``); channels pass the dedupe key (Message-ID, ``client_ref``,
``X-Kuzet-Delivery``) so a receiver can drop that repeat. Temporary failures are retried with exponential back-off
and jitter; permanent ones, and the last failed attempt, become dead letters with the reason for staff.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from notifications import outbox
from notifications.channels.base import Channel, DeliveryReceipt, PermanentFailure, TemporaryFailure
from notifications.config import WorkerConfig
from notifications.database import Connect, transaction
from notifications.outbox import OutboxMessage

logger = logging.getLogger(__name__)

PURGE_EVERY_S = 600.0
"""Seconds between two purges of sent rows by one worker."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """Result of one send: a receipt, or the failure that stopped it."""

    message: OutboxMessage
    receipt: DeliveryReceipt | None = None
    error: TemporaryFailure | PermanentFailure | None = None


def backoff_delay(attempts: int, config: WorkerConfig, rng: random.Random, retry_after_s: float | None = None) -> float:
    """Seconds until the next try after ``attempts`` failed ones: ``initial * 2^(n-1)``, capped, +/- jitter.

    A receiver's ``Retry-After`` is honoured (up to the cap).
    """
    base = min(config.backoff_max_s, config.backoff_initial_s * 2.0 ** max(attempts - 1, 0))
    delay = base * (1.0 + config.backoff_jitter * rng.uniform(-1.0, 1.0))
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, config.backoff_max_s))
    return max(delay, 0.0)


def _send(channel: Channel, message: OutboxMessage) -> Outcome:
    try:
        return Outcome(message, receipt=channel.send(message))
    except (TemporaryFailure, PermanentFailure) as exc:
        return Outcome(message, error=exc)
    except Exception as exc:  # a channel bug must not kill the worker: retried, logged with its traceback
        logger.exception("channel %s raised unexpectedly for outbox row %s", channel.name, message.id)
        return Outcome(message, error=TemporaryFailure(f"{channel.name}: {type(exc).__name__}: {exc}"))


class OutboxWorker:
    """Delivers the outbox rows of the channels it was given; several workers may share one database."""

    def __init__(
        self,
        connect: Connect,
        channels: Mapping[str, Channel],
        config: WorkerConfig,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        """Open the database; nothing is sent until ``run_once`` or ``run``.

        Args:
            connect: opens a connection to the database holding the (already installed) outbox, with the host's
                pragmas and lock wait (the backend passes ``backend.db.connector(path, busy_timeout_ms)``); the
                worker owns that connection and closes it in ``close``.
            channels: channel per outbox ``channel`` value; rows of other channels are left alone.
            config: batch size, concurrency, lease and retry policy.
            clock: UNIX-seconds clock (tests move it forward instead of sleeping).
            rng: random source of the jitter (seeded in tests).
        """
        if not channels:
            raise ValueError("no notification channel is configured; nothing to deliver")
        self.conn = connect()
        self.channels = dict(channels)
        self.config = config
        self.clock = clock
        self.rng = rng or random.Random()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.pool = ThreadPoolExecutor(config.concurrency, thread_name_prefix="outbox")
        self.next_purge = 0.0

    def claim(self, limit: int | None = None) -> list[OutboxMessage]:
        """Atomically mark up to ``limit`` (default ``batch_size``) due rows ``sending`` under this worker's lease.

        Rows whose last allowed attempt was claimed by a worker that never reported back are buried first.
        """
        now = self.clock()
        names = sorted(self.channels)
        with transaction(self.conn) as conn:
            self._purge_sent(conn, now)
            outbox.bury_expired(conn, channels=names, now=now, max_attempts=self.config.max_attempts)
            return outbox.claim(
                conn,
                owner=self.owner,
                channels=names,
                now=now,
                lease_s=self.config.lease_s,
                max_attempts=self.config.max_attempts,
                limit=self.config.batch_size if limit is None else limit,
            )

    def _purge_sent(self, conn: sqlite3.Connection, now: float) -> None:
        """Delete sent rows past ``sent_retention_days``, at most once per ``PURGE_EVERY_S`` of this worker."""
        if self.config.sent_retention_days <= 0 or now < self.next_purge:
            return
        self.next_purge = now + PURGE_EVERY_S
        purged = outbox.purge_sent(conn, before=now - self.config.sent_retention_days * 86_400)
        if purged:
            logger.info("outbox: purged %d sent messages older than %g days", purged, self.config.sent_retention_days)

    def _apply(self, conn: sqlite3.Connection, outcome: Outcome, now: float) -> bool:
        """Write one outcome; False when this worker's lease on the row was lost meanwhile."""
        message = outcome.message
        if outcome.error is None:
            assert outcome.receipt is not None
            return outbox.mark_sent(
                conn, message.id, owner=self.owner, now=now, provider_id=outcome.receipt.provider_id
            )
        if isinstance(outcome.error, PermanentFailure) or message.attempts >= self.config.max_attempts:
            reason = outcome.error.reason
            if isinstance(outcome.error, TemporaryFailure):
                reason = f"gave up after {message.attempts} attempts: {reason}"
            logger.warning("outbox row %s (%s) dead: %s", message.id, message.channel, reason)
            return outbox.mark_dead(conn, message.id, owner=self.owner, now=now, reason=reason)
        delay = backoff_delay(message.attempts, self.config, self.rng, outcome.error.retry_after_s)
        logger.info("outbox row %s retry in %.1f s: %s", message.id, delay, outcome.error.reason)
        return outbox.mark_retry(
            conn, message.id, owner=self.owner, next_attempt_at=now + delay, reason=outcome.error.reason
        )

    def record(self, outcomes: Sequence[Outcome]) -> None:
        """Write the sends' outcomes in one transaction, except where this worker's lease was lost meanwhile."""
        if not outcomes:
            return
        now = self.clock()
        with transaction(self.conn) as conn:
            lost = [o.message.id for o in outcomes if not self._apply(conn, o, now)]
        if lost:
            logger.warning("outbox rows %s: lease lost before the outcome was recorded", lost)

    def run_once(self) -> int:
        """Claim one batch, send it in parallel, record every outcome; returns how many rows were claimed."""
        messages = self.claim()
        futures = [self.pool.submit(_send, self.channels[m.channel], m) for m in messages]
        self.record([future.result() for future in futures])
        return len(messages)

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set, keeping up to ``concurrency`` sends in flight.

        Due rows are claimed as soon as a send slot is free (no waiting for a whole batch); when nothing was due
        the next claim waits ``poll_interval_s``. Outcomes are recorded as sends finish; at stop the sends in
        flight are finished and recorded.
        """
        logger.info("outbox worker %s delivering %s", self.owner, sorted(self.channels))
        inflight: set[Future[Outcome]] = set()
        next_claim = 0.0
        while not stop.is_set():
            free = self.config.concurrency - len(inflight)
            if free > 0 and time.monotonic() >= next_claim:
                try:
                    claimed = self.claim(min(free, self.config.batch_size))
                except sqlite3.OperationalError as exc:  # e.g. locked longer than busy_timeout: try again
                    logger.error("outbox worker: database error, retrying: %s", exc)
                    claimed = []
                inflight.update(self.pool.submit(_send, self.channels[m.channel], m) for m in claimed)
                if not claimed:
                    next_claim = time.monotonic() + self.config.poll_interval_s
            if not inflight:
                stop.wait(max(next_claim - time.monotonic(), 0.0))
                continue
            done, inflight = wait(inflight, timeout=self.config.poll_interval_s, return_when=FIRST_COMPLETED)
            self._record_retrying([future.result() for future in done])
        self._record_retrying([future.result() for future in inflight])

    def _record_retrying(self, outcomes: Sequence[Outcome]) -> None:
        """Record, retrying while the database is locked: an unrecorded send would be sent again later."""
        for attempt in itertools.count(1):
            try:
                self.record(outcomes)
                return
            except sqlite3.OperationalError as exc:
                if attempt >= self.config.max_attempts:
                    raise
                logger.error("outbox worker: cannot record %d outcomes (try %d): %s", len(outcomes), attempt, exc)
                time.sleep(self.config.poll_interval_s)

    def close(self) -> None:
        """Stop the send threads and close the database and the channels."""
        self.pool.shutdown(wait=True)
        for channel in self.channels.values():
            close = getattr(channel, "close", None)
            if callable(close):
                close()
        self.conn.close()
