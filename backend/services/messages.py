"""The hand-off of the school service to the notifications outbox.

Messages are rendered by ``notifications.templates.render`` (kk/ru/en) and written by
``notifications.outbox.enqueue`` inside the caller's (ingest) transaction: no network I/O here, and the unique
dedupe key makes a repeat a no-op. The worker of the notifications package delivers them. No SQL here: the outbox
and its statements belong to ``notifications``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from notifications import outbox, templates


@dataclass(frozen=True, slots=True)
class Message:
    """One message to one recipient; ``dedupe_key`` makes a second request for it a no-op."""

    dedupe_key: str
    school_id: str
    kind: str
    channel: str
    recipient: str
    language: str


def enqueue(conn: sqlite3.Connection, message: Message, zone: str, when: datetime, **fields: str) -> bool:
    """Render ``message.kind`` in the recipient's language and queue it; True when it was new.

    Args:
        conn: the open ingest transaction.
        message: recipient and kind.
        zone: the school's timezone (times are shown in it).
        when: capture time of the event (timezone-aware).
        **fields: template fields (``pupil``, ``camera``, ``temperature``).
    """
    values: dict[str, Any] = dict(fields)
    subject, body = templates.render(message.kind, message.language, tz=zone, time=when, **values)
    return outbox.enqueue(
        conn,
        channel=message.channel,
        recipient=message.recipient,
        subject=subject,
        body=body,
        dedupe_key=message.dedupe_key,
        school_id=message.school_id,
        kind=message.kind,
        language=message.language,
    )


def already_told(conn: sqlite3.Connection, prefix: str) -> bool:
    """Whether any message with a dedupe key starting with ``prefix`` was queued (whatever became of it)."""
    return outbox.has_prefix(conn, prefix)
