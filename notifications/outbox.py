"""The durable outbox: rows written inside the caller's transaction, delivered later by the worker.

Every SQL statement against the outbox is here (the table itself is in :mod:`notifications.schema`). A request
handler or an ingest handler only ever calls :func:`enqueue` (no network I/O, no commit); the
:class:`notifications.worker.OutboxWorker` claims, sends and records through :func:`claim` and ``mark_*``. The
unique ``dedupe_key`` makes enqueueing idempotent, so a replayed event or a pupil lingering in the doorway yields
one message per pass per guardian channel.

Row life cycle: ``pending`` -> ``sending`` (claimed with a lease) -> ``sent``; on a temporary failure back to
``pending`` with a later ``next_attempt_at``; on a permanent failure or after the last attempt ``dead`` with the
reason in ``last_error`` (shown to staff through :func:`failed`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Status = Literal["pending", "sending", "sent", "dead"]
STATUSES: tuple[Status, ...] = ("pending", "sending", "sent", "dead")
POLICE_CHANNEL = "police_webhook"
MESSAGE_COLUMNS = "id, dedupe_key, channel, recipient, subject, body, school_id, kind, language, attempts"


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One message as a channel sees it (``body`` is plain text; JSON text for the police webhook)."""

    id: int
    dedupe_key: str
    channel: str
    recipient: str
    subject: str
    body: str
    school_id: str | None
    kind: str
    language: str
    attempts: int

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> OutboxMessage:
        """Build from a row selected with ``MESSAGE_COLUMNS`` order."""
        return cls(*row)


@dataclass(frozen=True, slots=True)
class FailedDelivery:
    """A dead letter, for the staff dashboard: who was not told what, and why."""

    id: int
    channel: str
    recipient: str
    kind: str
    subject: str
    attempts: int
    reason: str
    created_at: datetime
    failed_at: datetime | None


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """Where one message stands (for tests, the dashboard and the police review page)."""

    id: int
    dedupe_key: str
    channel: str
    status: Status
    attempts: int
    last_error: str | None
    provider_id: str | None
    sent_at: datetime | None
    next_attempt_at: datetime


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def enqueue(
    conn: sqlite3.Connection,
    *,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    dedupe_key: str,
    school_id: str | None,
    kind: str,
    language: str,
    now: float | None = None,
) -> bool:
    """Add one message to the outbox inside the caller's transaction (never commits).

    Args:
        conn: connection with an open transaction (e.g. the ingest transaction).
        channel: channel name, e.g. ``email``, ``telegram``, ``sms``, ``police_webhook``.
        recipient: address in the channel's terms (e-mail address, chat id, phone number, receiver name).
        subject: subject line (e-mail only; other channels send the body).
        body: the message text (JSON text for the police webhook).
        dedupe_key: idempotency key, e.g. ``entry:{pupil}:{pass}:{guardian}:{channel}``; a repeat is ignored.
        school_id: school the message belongs to (None for traffic).
        kind: template kind (entered, left, late, fever, unknown_face, police_violation).
        language: ``kk``, ``ru`` or ``en``.
        now: enqueue time as UNIX seconds (default: the current time).

    Returns:
        True when a row was added, False when ``dedupe_key`` was already there.
    """
    at = time.time() if now is None else now
    cursor = conn.execute(
        "INSERT INTO outbox(dedupe_key, channel, recipient, subject, body, school_id, kind, language, status,"
        " attempts, created_at, next_attempt_at) VALUES (:dedupe_key, :channel, :recipient, :subject, :body,"
        " :school_id, :kind, :language, 'pending', 0, :at, :at) ON CONFLICT (dedupe_key) DO NOTHING",
        {
            "dedupe_key": dedupe_key,
            "channel": channel,
            "recipient": recipient,
            "subject": subject,
            "body": body,
            "school_id": school_id,
            "kind": kind,
            "language": language,
            "at": at,
        },
    )
    return cursor.rowcount == 1


def enqueue_police(
    conn: sqlite3.Connection,
    *,
    violation_id: str,
    payload: Mapping[str, Any],
    summary: str,
    receiver: str = "police",
    language: str = "ru",
) -> bool:
    """Queue one confirmed violation for the police webhook (exactly one row per violation id).

    Args:
        conn: connection with an open transaction (the review action's).
        violation_id: id of the confirmed violation; the idempotency key the receiver sees.
        payload: JSON-serialisable violation record (plate, time, location, evidence hashes, ...).
        summary: one human-readable line (e.g. from ``render("police_violation", ...)``).
        receiver: name of the receiving service (the webhook URL comes from the settings).
        language: language of ``summary``.
    """
    body = json.dumps({"violation_id": violation_id, **payload}, sort_keys=True, ensure_ascii=False, default=str)
    return enqueue(
        conn,
        channel=POLICE_CHANNEL,
        recipient=receiver,
        subject=summary,
        body=body,
        dedupe_key=f"police:{violation_id}",
        school_id=None,
        kind="police_violation",
        language=language,
    )


def _in_list(names: Sequence[str]) -> tuple[str, dict[str, str]]:
    """``:c0, :c1, ...`` and their values, for ``channel IN (...)``."""
    params = {f"c{i}": name for i, name in enumerate(names)}
    return ", ".join(f":{key}" for key in params), params


def claim(
    conn: sqlite3.Connection,
    *,
    owner: str,
    channels: Sequence[str],
    now: float,
    lease_s: float,
    max_attempts: int,
    limit: int,
) -> list[OutboxMessage]:
    """Mark up to ``limit`` due rows of ``channels`` ``sending`` under ``owner``'s lease, in id order.

    Due: ``sending`` with an expired lease (its worker crashed; taken first, the oldest work), or ``pending`` with
    ``next_attempt_at <= now``, and fewer than ``max_attempts`` attempts. Each claim counts as an attempt. Run inside
    the caller's ``BEGIN IMMEDIATE`` transaction, so two workers never claim the same row: SQLite admits one writer; on
    PostgreSQL (a connection whose ``dialect`` says so) the due rows are locked ``FOR UPDATE SKIP LOCKED``, so workers
    claiming at once take disjoint rows without waiting for each other.
    """
    terms = _ClaimTerms(owner, channels, now, lease_s, max_attempts)
    taken = _claim_where(conn, "status = 'sending' AND lease_until <= :now", "lease_until, id", terms, limit)
    if len(taken) < limit:
        pending = "status = 'pending' AND next_attempt_at <= :now"
        taken += _claim_where(conn, pending, "next_attempt_at, id", terms, limit - len(taken))
    return sorted(taken, key=lambda m: m.id)


@dataclass(frozen=True)
class _ClaimTerms:
    """Who claims which channels, when, for how long, below how many attempts."""

    owner: str
    channels: Sequence[str]
    now: float
    lease_s: float
    max_attempts: int


def _claim_where(conn: sqlite3.Connection, due: str, order: str, terms: _ClaimTerms, limit: int) -> list[OutboxMessage]:
    """One claim over the rows ``due`` selects, taken in ``order``: each of the two kinds of due row has a partial
    index in that order (``outbox_leased``, ``outbox_pending``), so the claim reads the first ``limit`` index entries
    and stops; one query with both kinds OR-ed had to fetch and sort every due row (5.7 ms a claim at a peak)."""
    marks, params = _in_list(terms.channels)
    skip_locked = " FOR UPDATE SKIP LOCKED" if getattr(conn, "dialect", "sqlite") == "postgresql" else ""
    values = {"owner": terms.owner, "until": terms.now + terms.lease_s, "max_attempts": terms.max_attempts}
    rows = conn.execute(
        f"UPDATE outbox SET status = 'sending', lease_owner = :owner, lease_until = :until, attempts = attempts + 1"
        f" WHERE id IN (SELECT id FROM outbox WHERE {due} AND channel IN ({marks}) AND attempts < :max_attempts"
        f" ORDER BY {order} LIMIT :limit{skip_locked}) RETURNING {MESSAGE_COLUMNS}",
        {**params, **values, "now": terms.now, "limit": limit},
    ).fetchall()
    return [OutboxMessage.from_row(r) for r in rows]


def bury_expired(conn: sqlite3.Connection, *, channels: Sequence[str], now: float, max_attempts: int) -> int:
    """Dead-letter rows whose last allowed attempt went to a worker that never reported back; returns how many."""
    marks, params = _in_list(channels)
    return conn.execute(
        f"UPDATE outbox SET status = 'dead', dead_at = :now, lease_owner = NULL, lease_until = NULL,"
        f" last_error = 'gave up after ' || attempts || ' attempts; the last one never reported back"
        f" (worker crashed?)' || COALESCE(': ' || last_error, '')"
        f" WHERE status = 'sending' AND lease_until <= :now AND attempts >= :max_attempts AND channel IN ({marks})",
        {**params, "now": now, "max_attempts": max_attempts},
    ).rowcount


def purge_sent(conn: sqlite3.Connection, *, before: float) -> int:
    """Delete messages sent before ``before`` (UNIX seconds); returns how many. Their dedupe keys go with them, so
    keep them longer than any replay of the events behind them can arrive."""
    return conn.execute("DELETE FROM outbox WHERE status = 'sent' AND sent_at < :before", {"before": before}).rowcount


def _release(conn: sqlite3.Connection, message_id: int, owner: str, assignments: str, values: dict[str, Any]) -> bool:
    """Leave ``sending`` with ``assignments`` (the lease cleared) if ``owner`` still holds the row's lease."""
    sql = (
        f"UPDATE outbox SET {assignments}, lease_owner = NULL, lease_until = NULL"
        " WHERE id = :id AND status = 'sending' AND lease_owner = :owner"
    )
    return conn.execute(sql, {**values, "id": message_id, "owner": owner}).rowcount == 1


def mark_sent(conn: sqlite3.Connection, message_id: int, *, owner: str, now: float, provider_id: str | None) -> bool:
    """Record an accepted send; False when ``owner`` no longer held the row's lease (nothing written)."""
    assignments = "status = 'sent', sent_at = :now, provider_id = :provider_id, last_error = NULL"
    return _release(conn, message_id, owner, assignments, {"now": now, "provider_id": provider_id})


def mark_dead(conn: sqlite3.Connection, message_id: int, *, owner: str, now: float, reason: str) -> bool:
    """Make the row a dead letter with ``reason`` for staff; False when ``owner`` no longer held its lease."""
    assignments = "status = 'dead', dead_at = :now, last_error = :reason"
    return _release(conn, message_id, owner, assignments, {"now": now, "reason": reason})


def mark_retry(conn: sqlite3.Connection, message_id: int, *, owner: str, next_attempt_at: float, reason: str) -> bool:
    """Put the row back to ``pending`` until ``next_attempt_at``; False when ``owner`` no longer held its lease."""
    assignments = "status = 'pending', next_attempt_at = :next_attempt_at, last_error = :reason"
    return _release(conn, message_id, owner, assignments, {"next_attempt_at": next_attempt_at, "reason": reason})


def _prefix_range(prefix: str) -> tuple[str, str]:
    """``[prefix, upper)`` bounds of the dedupe keys starting with ``prefix`` (a range scan of the unique index)."""
    if not prefix:
        raise ValueError("an empty dedupe key prefix would match every message")
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def has_prefix(conn: sqlite3.Connection, prefix: str) -> bool:
    """Whether any message with a dedupe key starting with ``prefix`` was queued (whatever its status)."""
    row = conn.execute(
        "SELECT 1 FROM outbox WHERE dedupe_key >= ? AND dedupe_key < ? LIMIT 1", _prefix_range(prefix)
    ).fetchone()
    return row is not None


def delete_prefix(conn: sqlite3.Connection, prefix: str) -> int:
    """Delete the messages whose dedupe key starts with ``prefix`` inside the caller's transaction; returns how many.

    Used when the data a message was about must go (e.g. erasing a pupil: ``pass:{pupil_id}:``).
    """
    return conn.execute("DELETE FROM outbox WHERE dedupe_key >= ? AND dedupe_key < ?", _prefix_range(prefix)).rowcount


def failed(conn: sqlite3.Connection, school_id: str | None, limit: int = 200) -> list[FailedDelivery]:
    """Dead letters of one school (``None``: those without a school, e.g. police), newest first."""
    rows = conn.execute(
        "SELECT id, channel, recipient, kind, subject, attempts, COALESCE(last_error, ''), created_at, dead_at"
        " FROM outbox WHERE status = 'dead' AND school_id IS NOT DISTINCT FROM ? ORDER BY id DESC LIMIT ?",
        (school_id, limit),
    ).fetchall()
    return [
        FailedDelivery(
            id=r[0],
            channel=r[1],
            recipient=r[2],
            kind=r[3],
            subject=r[4],
            attempts=r[5],
            reason=r[6],
            created_at=datetime.fromtimestamp(r[7], UTC),
            failed_at=_dt(r[8]),
        )
        for r in rows
    ]


def _state(row: tuple[Any, ...]) -> DeliveryState:
    return DeliveryState(
        id=row[0],
        dedupe_key=row[1],
        channel=row[2],
        status=row[3],
        attempts=row[4],
        last_error=row[5],
        provider_id=row[6],
        sent_at=_dt(row[7]),
        next_attempt_at=datetime.fromtimestamp(row[8], UTC),
    )


_STATE_SQL = (
    "SELECT id, dedupe_key, channel, status, attempts, last_error, provider_id, sent_at, next_attempt_at FROM outbox"
)


def state(conn: sqlite3.Connection, dedupe_key: str) -> DeliveryState | None:
    """Delivery state of the message with ``dedupe_key`` (None when never enqueued)."""
    row = conn.execute(f"{_STATE_SQL} WHERE dedupe_key = ?", (dedupe_key,)).fetchone()
    return None if row is None else _state(row)


def states(
    conn: sqlite3.Connection, *, school_id: str | None = None, status: Status | None = None
) -> list[DeliveryState]:
    """Delivery states, optionally of one school and/or one status, oldest first."""
    where, args = [], []
    if school_id is not None:
        where.append("school_id = ?")
        args.append(school_id)
    if status is not None:
        where.append("status = ?")
        args.append(status)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return [_state(r) for r in conn.execute(f"{_STATE_SQL}{clause} ORDER BY id", args).fetchall()]


def messages(conn: sqlite3.Connection, school_id: str | None) -> list[tuple[OutboxMessage, Status]]:
    """Every message of one school (``None``: those without a school) with its status, oldest first."""
    rows = conn.execute(
        f"SELECT {MESSAGE_COLUMNS}, status FROM outbox WHERE school_id IS NOT DISTINCT FROM :school_id ORDER BY id",
        {"school_id": school_id},
    ).fetchall()
    return [(OutboxMessage.from_row(r[:-1]), r[-1]) for r in rows]


def counts(conn: sqlite3.Connection, school_id: str | None = None) -> dict[str, int]:
    """Number of messages per status (every status present, zero when none), optionally of one school."""
    clause, args = ("WHERE school_id = ?", (school_id,)) if school_id is not None else ("", ())
    found = dict(conn.execute(f"SELECT status, COUNT(*) FROM outbox {clause} GROUP BY status", args).fetchall())
    return {s: int(found.get(s, 0)) for s in STATUSES}


def leases(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, tuple[str, str | None, int]]:
    """``(status, lease_owner, attempts)`` of each of ``ids`` still in the outbox (the broker fan-out checks that a
    message it took from the stream is still the claim the relay published before sending it)."""
    params = {f"i{n}": int(i) for n, i in enumerate(ids)}
    if not params:
        return {}
    marks = ", ".join(f":{key}" for key in params)
    rows = conn.execute(f"SELECT id, status, lease_owner, attempts FROM outbox WHERE id IN ({marks})", params)
    return {int(r[0]): (str(r[1]), r[2], int(r[3])) for r in rows}
