"""Idempotent batch ingest of wire events.

One transaction per batch: insert the events whose id is new in one set-based statement (``backend.store.events``:
``INSERT ... SELECT FROM unnest ... ON CONFLICT DO NOTHING RETURNING`` on PostgreSQL, one lookup and
``executemany`` on SQLite), compare the ids already stored with their stored content, and let the registered handlers
(attendance, violations, outbox rows...) react to the new events inside the same transaction. A replayed batch
therefore stores nothing twice and triggers nothing twice, also when two API processes receive it at once.

Idempotency notices: an id re-sent with the same content is a duplicate; with different content (stored earlier or
twice in the batch) the batch is refused with 409 and each refused copy is recorded in ``event_conflicts``, never
silently dropped. Events captured outside the configured skew of the receipt time are refused (422) naming each
event (``rejected``, as the media citation check does), so the device's uplink sets exactly those aside and sends the
rest. The answer is given after the transaction committed to disk (``backend.db.durable``: ``synchronous=FULL``).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NoReturn, Protocol
from uuid import UUID

import sqlite_utils
from pydantic import ValidationError

from backend.db import durable, transaction
from backend.services.errors import BadInputError, ConflictError, ForbiddenError
from backend.services.media import check_citations
from backend.settings import LimitSettings
from backend.store import conflicts, devices, media
from backend.store import events as stored_events
from backend.store.events import AttachmentLink, EventRow
from kuzet.contracts import (
    CameraHealthEvent,
    EntryEvent,
    EventBase,
    IngestResult,
    PlateAlertEvent,
    VehicleEvent,
    ViolationEvent,
)

logger = logging.getLogger(__name__)

AnyEvent = EntryEvent | VehicleEvent | ViolationEvent | PlateAlertEvent | CameraHealthEvent


class EventHandler(Protocol):
    """Reacts to newly stored events inside the ingest transaction (no network I/O here)."""

    kinds: frozenset[str]

    def handle(self, conn: sqlite3.Connection, events: Sequence[AnyEvent]) -> None:
        """Update derived state for ``events`` (all of a kind in ``kinds``)."""


class IngestService:
    """Stores event batches exactly once and dispatches new events to handlers."""

    def __init__(
        self,
        handlers: Sequence[EventHandler] = (),
        limits: LimitSettings | None = None,
        unstored_kinds: frozenset[str] = frozenset(),
    ) -> None:
        """``unstored_kinds``: kinds kept as no row, only handed to the handlers (vehicle events when the broker's
        stream holds them: ``broker.store_vehicle_events: false``; a repeat is then dropped by the stream's window)."""
        self.handlers = tuple(handlers)
        self.limits = limits or LimitSettings()
        self.unstored_kinds = unstored_kinds

    def ingest(self, db: sqlite_utils.Database, camera_id: str, events: Sequence[AnyEvent]) -> IngestResult:
        """Store the events of one device; returns which ids were new, duplicates, or repeated in the batch.

        Raises:
            ForbiddenError: 403 when an event claims another camera.
            BadInputError: 422 when an attachment was not uploaded first or does not match the stored bytes, or a
                capture time is outside the allowed skew of the receipt time (``rejected`` names the events).
            ConflictError: 409 when an event id comes with content different from its stored or batch twin.
        """
        for event in events:
            if event.camera_id != camera_id:
                raise ForbiddenError(
                    "Wrong camera",
                    f"event {event.event_id} is for camera {event.camera_id!r}, but the key belongs to {camera_id!r}",
                )
        received = datetime.now(UTC)
        self._check_times(events, received)
        durable(db)  # acknowledged means on disk: the device drops what we acknowledge
        unique, repeated, clashes = _in_batch(events)
        passed = [e for e in unique if e.kind in self.unstored_kinds]  # no row: the handlers (the stream) take them
        unique = [e for e in unique if e.kind not in self.unstored_kinds]
        now = received.isoformat()
        rows, links = _rows(unique, now)
        stored_events.ensure_partitions(db.conn, rows)  # PostgreSQL: the day partitions, before the transaction
        try:
            with transaction(db) as conn:
                fresh = [*self._store(conn, camera_id, unique, clashes, rows, links), *passed]
                for handler in self.handlers:
                    mine = [e for e in fresh if e.kind in handler.kinds]
                    if mine:
                        handler.handle(conn, mine)
                devices.touch(conn, camera_id, now)
        except _RefusedError as refusal:  # the transaction rolled back: nothing of the batch is stored
            self._refuse(db, camera_id, refusal.refused, now)
        fresh_ids = {e.event_id for e in fresh}
        return IngestResult(
            accepted=tuple(e.event_id for e in fresh),
            duplicates=tuple(e.event_id for e in unique if e.event_id not in fresh_ids),
            repeated=repeated,
        )

    def _store(
        self,
        conn: sqlite3.Connection,
        camera_id: str,
        unique: list[AnyEvent],
        clashes: list[tuple[AnyEvent, str | None]],
        rows: list[EventRow],
        links: list[AttachmentLink],
    ) -> list[AnyEvent]:
        """Insert the batch's new events in one set-based statement; raise :class:`_RefusedError` (rolling it back)
        when an id comes with content other than its stored or batch twin. Returns the events stored now, in order."""
        check_citations(conn, camera_id, unique)  # own tenant's uploads only; the same 422 as never stored
        self._check_media(conn, unique)
        new = stored_events.insert_new(conn, rows, links)
        seen = [(e, r.event_id) for e, r in zip(unique, rows, strict=True) if r.event_id not in new]
        stored = conflicts.stored_payloads(conn, [i for _, i in seen]) if seen else {}
        refused = clashes + [c for e, i in seen if (c := _differs(e, stored.get(i))) is not None]
        if refused:
            raise _RefusedError(refused)
        return [e for e, r in zip(unique, rows, strict=True) if r.event_id in new]

    def _check_times(self, events: Sequence[AnyEvent], received: datetime) -> None:
        """Refuse capture times outside [receipt - capture_past_days, receipt + capture_future_s]."""
        earliest = received - timedelta(days=self.limits.capture_past_days)
        latest = received + timedelta(seconds=self.limits.capture_future_s)
        rejected = [
            {"event_id": str(e.event_id), "reason": _time_reason(e.captured_at, received, earliest, latest)}
            for e in events
            if not earliest <= e.captured_at <= latest
        ]
        if rejected:
            raise BadInputError(
                "Capture time out of range",
                f"event {rejected[0]['event_id']}: {rejected[0]['reason']}; fix the device clock",
                rejected=rejected[:100],
            )

    @staticmethod
    def _refuse(
        db: sqlite_utils.Database, camera_id: str, refused: list[tuple[AnyEvent, str | None]], now: str
    ) -> NoReturn:
        """Record every refused copy (in its own transaction: the batch wrote nothing) and raise 409."""
        rows = [
            conflicts.Conflict(str(e.event_id), camera_id, now, stored, _sha(e.model_dump_json()), e.model_dump_json())
            for e, stored in refused
        ]
        with transaction(db) as conn:
            conflicts.record(conn, rows)
        logger.warning("refused %d event id(s) re-sent with different content from %s", len(rows), camera_id)
        first = rows[0].event_id
        raise ConflictError(
            "Event id reused",
            f"event {first} was already received with different content; give a changed event a new id",
            rejected=[{"event_id": r.event_id, "reason": "id reused with different content"} for r in rows][:100],
        )

    @staticmethod
    def _check_media(conn: sqlite3.Connection, events: Sequence[EventBase]) -> None:
        wanted = sorted({a.sha256 for e in events for a in e.attachments})
        missing = sorted(set(wanted) - media.existing_shas(conn, wanted))
        if missing:
            raise BadInputError(
                "Attachment not uploaded",
                f"attachment {missing[0]} is referenced but not stored; PUT it to /api/v1/media/{missing[0]} first",
                missing=missing[:50],
            )


class _RefusedError(Exception):
    """Raised inside the ingest transaction to roll the batch back when ids were reused with other content."""

    def __init__(self, refused: list[tuple[AnyEvent, str | None]]) -> None:
        super().__init__(f"{len(refused)} event id(s) reused with different content")
        self.refused = refused


def _rows(events: Sequence[AnyEvent], now: str) -> tuple[list[EventRow], list[AttachmentLink]]:
    """The stored rows and attachment links of ``events``."""
    rows = [
        EventRow(str(e.event_id), e.kind, e.camera_id, e.captured_at.isoformat(), now, e.schema_version,
                 e.model_dump_json())
        for e in events
    ]  # fmt: skip
    links = [AttachmentLink(str(e.event_id), a.sha256, a.role) for e in events for a in e.attachments]
    return rows, links


def purge_events(conn: sqlite3.Connection, retention_days: int, now: datetime) -> int:
    """Delete the events captured on UTC days older than ``retention_days`` before ``now`` (0 keeps them) and the rows
    about them; PostgreSQL drops whole day partitions. Returns how many events went."""
    if retention_days <= 0:
        return 0
    cutoff = (now.astimezone(UTC) - timedelta(days=retention_days)).date().isoformat()
    gone = stored_events.purge_before(conn, cutoff)
    if gone:
        logger.info("retention purge: %d events captured before %s deleted", gone, cutoff)
    return gone


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _time_reason(at: datetime, received: datetime, earliest: datetime, latest: datetime) -> str:
    """Why a capture time is refused, in words a person can act on."""
    if at > latest:
        return f"captured_at {at.isoformat()} is {(at - received).total_seconds():.0f} s after the receipt time"
    return f"captured_at {at.isoformat()} is older than {(received - earliest).days} days before the receipt time"


def _in_batch(events: Sequence[AnyEvent]) -> tuple[list[AnyEvent], tuple[UUID, ...], list[tuple[AnyEvent, str | None]]]:
    """(first copy of each id, ids sent more than once with the same content, later copies that differ)."""
    first: dict[UUID, AnyEvent] = {}
    repeated: dict[UUID, None] = {}
    clashes: list[tuple[AnyEvent, str | None]] = []
    for event in events:
        twin = first.setdefault(event.event_id, event)
        if twin is event:
            continue
        if twin.model_dump_json() == event.model_dump_json():
            repeated[event.event_id] = None
        else:
            clashes.append((event, _sha(twin.model_dump_json())))
    return list(first.values()), tuple(repeated), clashes


def _differs(event: AnyEvent, stored: str | None) -> tuple[AnyEvent, str | None] | None:
    """(event, SHA-256 of the stored payload) when ``event`` reuses a stored id with other content, else None.

    The stored payload is read through the event's current model, so fields added since (with defaults) are not a
    difference.
    """
    if stored is None:
        return None
    try:
        same = type(event).model_validate_json(stored).model_dump_json() == event.model_dump_json()
    except ValidationError:
        same = False
    return None if same else (event, _sha(stored))
