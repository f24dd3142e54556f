"""Message text and the outbox hand-off of the school service.

The notifications package owns the durable outbox, the channels and the kk/ru/en templates
(``notifications.outbox.enqueue`` and ``notifications.templates.render``). This module calls them inside the ingest
transaction, and keeps its own ``school_notices`` record of every message it asked for (what the dashboard, the
demo and the tests read). Until the notifications package provides those functions, the built-in texts below are
used and only ``school_notices`` is written; a warning says so once.
"""

from __future__ import annotations

import importlib
import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType

logger = logging.getLogger(__name__)

FALLBACK_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "pupil_entered": {
        "en": ("{pupil} entered school", "{pupil} entered school at {time}."),
        "ru": ("{pupil} пришёл(ла) в школу", "{pupil} вошёл(ла) в школу в {time}."),
        "kk": ("{pupil} мектепке келді", "{pupil} мектепке {time} кірді."),
    },
    "pupil_left": {
        "en": ("{pupil} left school", "{pupil} left school at {time}."),
        "ru": ("{pupil} ушёл(ла) из школы", "{pupil} вышел(ла) из школы в {time}."),
        "kk": ("{pupil} мектептен кетті", "{pupil} мектептен {time} шықты."),
    },
    "fever_alert": {
        "en": ("Fever: {pupil}", "{pupil} measured {temperature} °C at the door at {time}."),
        "ru": ("Температура: {pupil}", "У {pupil} {temperature} °C на входе в {time}."),
        "kk": ("Қызба: {pupil}", "{pupil} есікте {time} кезінде {temperature} °C."),
    },
    "unknown_face": {
        "en": ("Unknown face at the door", "An unknown person passed {camera} at {time}."),
        "ru": ("Неизвестное лицо у входа", "Неизвестный человек прошёл {camera} в {time}."),
        "kk": ("Есікте бейтаныс адам", "Бейтаныс адам {camera} арқылы {time} өтті."),
    },
}


def _optional(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None
        raise


def render(kind: str, language: str, **fields: str) -> tuple[str, str]:
    """(subject, body) of a message in ``language`` (kk/ru/en), by the notifications templates when present."""
    templates = _optional("notifications.templates")
    if templates is not None and hasattr(templates, "render"):
        subject, body = templates.render(kind, language, **fields)
        return str(subject), str(body)
    subject, body = FALLBACK_TEXTS[kind].get(language, FALLBACK_TEXTS[kind]["en"])
    return subject.format(**fields), body.format(**fields)


@dataclass(frozen=True, slots=True)
class Message:
    """One message to one recipient; ``dedupe_key`` makes a second request for it a no-op."""

    dedupe_key: str
    school_id: str
    kind: str
    channel: str
    recipient: str
    language: str
    subject: str
    body: str


_warned: list[bool] = []


def enqueue(conn: sqlite3.Connection, message: Message) -> bool:
    """Record the message and hand it to the notifications outbox in the caller's transaction.

    Returns:
        True when it was new (not a duplicate of ``dedupe_key``).
    """
    cursor = conn.execute(
        "INSERT OR IGNORE INTO school_notices(dedupe_key, school_id, kind, channel, recipient, language, subject,"
        " body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            message.dedupe_key,
            message.school_id,
            message.kind,
            message.channel,
            message.recipient,
            message.language,
            message.subject,
            message.body,
            datetime.now(UTC).isoformat(),
        ),
    )
    outbox = _optional("notifications.outbox")
    if outbox is None or not hasattr(outbox, "enqueue"):
        if not _warned:
            logger.warning("notifications.outbox is not available: messages are recorded but not delivered")
            _warned.append(True)
        return cursor.rowcount == 1
    return bool(
        outbox.enqueue(
            conn,
            channel=message.channel,
            recipient=message.recipient,
            subject=message.subject,
            body=message.body,
            dedupe_key=message.dedupe_key,
            school_id=message.school_id,
            kind=message.kind,
            language=message.language,
        )
    )
