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
from pathlib import Path

from backend.db import connect, transaction
from notifications.channels.base import Channel, DeliveryReceipt, PermanentFailure, TemporaryFailure
from notifications.config import WorkerConfig
from notifications.outbox import MESSAGE_COLUMNS, OutboxMessage

logger = logging.getLogger(__name__)


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
        db_path: Path,
        channels: Mapping[str, Channel],
        config: WorkerConfig,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        busy_timeout_ms: int = 10_000,
    ) -> None:
        """Open the database; nothing is sent until ``run_once`` or ``run``.

        Args:
            db_path: the backend's SQLite file (already migrated).
            channels: channel per outbox ``channel`` value; rows of other channels are left alone.
            config: batch size, concurrency, lease and retry policy.
            clock: UNIX-seconds clock (tests move it forward instead of sleeping).
            rng: random source of the jitter (seeded in tests).
            busy_timeout_ms: SQLite lock wait.
        """
        if not channels:
            raise ValueError("no notification channel is configured; nothing to deliver")
        self.db = connect(db_path, busy_timeout_ms)
        self.channels = dict(channels)
        self.config = config
        self.clock = clock
        self.rng = rng or random.Random()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.pool = ThreadPoolExecutor(config.concurrency, thread_name_prefix="outbox")

    def claim(self, limit: int | None = None) -> list[OutboxMessage]:
        """Atomically mark up to ``limit`` (default ``batch_size``) due rows ``sending`` under this worker's lease."""
        now = self.clock()
        names = sorted(self.channels)
        marks = ",".join("?" * len(names))
        with transaction(self.db) as conn:
            self._bury_expired(conn, now, names)
            rows = conn.execute(
                f"UPDATE outbox SET status = 'sending', lease_owner = ?, lease_until = ?, attempts = attempts + 1"
                f" WHERE id IN (SELECT id FROM outbox WHERE channel IN ({marks}) AND attempts < ? AND"
                f" ((status = 'pending' AND next_attempt_at <= ?) OR (status = 'sending' AND lease_until <= ?))"
                f" ORDER BY next_attempt_at, id LIMIT ?) RETURNING {MESSAGE_COLUMNS}",
                (
                    self.owner,
                    now + self.config.lease_s,
                    *names,
                    self.config.max_attempts,
                    now,
                    now,
                    self.config.batch_size if limit is None else limit,
                ),
            ).fetchall()
        return sorted((OutboxMessage.from_row(r) for r in rows), key=lambda m: m.id)

    def _bury_expired(self, conn: sqlite3.Connection, now: float, names: list[str]) -> None:
        """Rows whose last allowed attempt was claimed by a worker that never reported back."""
        marks = ",".join("?" * len(names))
        conn.execute(
            f"UPDATE outbox SET status = 'dead', dead_at = ?, lease_owner = NULL, lease_until = NULL,"
            f" last_error = 'gave up after ' || attempts || ' attempts; the last one never reported back"
            f" (worker crashed?)' || COALESCE(': ' || last_error, '')"
            f" WHERE status = 'sending' AND lease_until <= ? AND attempts >= ? AND channel IN ({marks})",
            (now, now, self.config.max_attempts, *names),
        )

    def _apply(self, conn: sqlite3.Connection, outcome: Outcome, now: float) -> int:
        message = outcome.message
        mine = " WHERE id = ? AND status = 'sending' AND lease_owner = ?"
        if outcome.error is None:
            assert outcome.receipt is not None
            return conn.execute(
                "UPDATE outbox SET status = 'sent', sent_at = ?, provider_id = ?, lease_owner = NULL,"
                " lease_until = NULL, last_error = NULL" + mine,
                (now, outcome.receipt.provider_id, message.id, self.owner),
            ).rowcount
        if isinstance(outcome.error, PermanentFailure) or message.attempts >= self.config.max_attempts:
            reason = outcome.error.reason
            if isinstance(outcome.error, TemporaryFailure):
                reason = f"gave up after {message.attempts} attempts: {reason}"
            logger.warning("outbox row %s (%s) dead: %s", message.id, message.channel, reason)
            return conn.execute(
                "UPDATE outbox SET status = 'dead', dead_at = ?, last_error = ?, lease_owner = NULL,"
                " lease_until = NULL" + mine,
                (now, reason, message.id, self.owner),
            ).rowcount
        delay = backoff_delay(message.attempts, self.config, self.rng, outcome.error.retry_after_s)
        logger.info("outbox row %s retry in %.1f s: %s", message.id, delay, outcome.error.reason)
        return conn.execute(
            "UPDATE outbox SET status = 'pending', next_attempt_at = ?, last_error = ?, lease_owner = NULL,"
            " lease_until = NULL" + mine,
            (now + delay, outcome.error.reason, message.id, self.owner),
        ).rowcount

    def record(self, outcomes: Sequence[Outcome]) -> None:
        """Write the sends' outcomes in one transaction, except where this worker's lease was lost meanwhile."""
        if not outcomes:
            return
        now = self.clock()
        with transaction(self.db) as conn:
            lost = [o.message.id for o in outcomes if self._apply(conn, o, now) != 1]
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
        self.db.conn.close()
