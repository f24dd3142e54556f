"""Idempotent batch ingest of wire events.

One transaction per batch: look up which event ids already exist, insert only the new ones with their attachment
links, and let the registered handlers (attendance, violations, outbox rows...) react to the new events inside the
same transaction. A replayed batch therefore stores nothing twice and triggers nothing twice.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

import sqlite_utils

from backend.db import transaction
from backend.services.errors import BadInputError, ForbiddenError
from backend.services.media import check_citations
from backend.store import devices, media
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

    def __init__(self, handlers: Sequence[EventHandler] = ()) -> None:
        self.handlers = tuple(handlers)

    def ingest(self, db: sqlite_utils.Database, camera_id: str, events: Sequence[AnyEvent]) -> IngestResult:
        """Store the events of one device; returns which ids were new and which were duplicates.

        Raises:
            ForbiddenError: 403 when an event claims another camera.
            BadInputError: 422 when an attachment was not uploaded first.
        """
        for event in events:
            if event.camera_id != camera_id:
                raise ForbiddenError(
                    "Wrong camera",
                    f"event {event.event_id} is for camera {event.camera_id!r}, but the key belongs to {camera_id!r}",
                )
        now = datetime.now(UTC).isoformat()
        with transaction(db) as conn:
            self._check_media(conn, events)
            check_citations(conn, camera_id, events)  # only the camera's own tenant's media
            ids = [str(e.event_id) for e in events]
            seen = stored_events.existing_ids(conn, ids)
            fresh: list[AnyEvent] = []
            for event, event_id in zip(events, ids, strict=True):
                if event_id not in seen:
                    fresh.append(event)
                    seen.add(event_id)  # the same id twice in one batch is stored once
            self._insert(conn, fresh, now)
            for handler in self.handlers:
                mine = [e for e in fresh if e.kind in handler.kinds]
                if mine:
                    handler.handle(conn, mine)
            devices.touch(conn, camera_id, now)
        fresh_ids = {e.event_id for e in fresh}
        return IngestResult(
            accepted=tuple(e.event_id for e in fresh),
            duplicates=tuple(dict.fromkeys(e.event_id for e in events if e.event_id not in fresh_ids)),
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

    @staticmethod
    def _insert(conn: sqlite3.Connection, fresh: Sequence[AnyEvent], now: str) -> None:
        rows = [
            EventRow(str(e.event_id), e.kind, e.camera_id, e.captured_at.isoformat(), now, e.schema_version,
                     e.model_dump_json())
            for e in fresh
        ]  # fmt: skip
        links = [AttachmentLink(str(e.event_id), a.sha256, a.role) for e in fresh for a in e.attachments]
        stored_events.insert(conn, rows, links)
