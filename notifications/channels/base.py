"""The one interface every delivery channel implements, and the two ways a send can fail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from notifications.outbox import OutboxMessage


class DeliveryError(Exception):
    """A send did not go through; ``reason`` is shown to staff."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TemporaryFailure(DeliveryError):  # noqa: N818 (name fixed by the channel API)
    """Worth retrying later (down, timeout, 5xx, 429); ``retry_after_s`` when the receiver said how long."""

    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class PermanentFailure(DeliveryError):  # noqa: N818 (name fixed by the channel API)
    """Retrying will not help (bad address, blocked bot, 4xx): the message goes to the dead letters."""


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """What the receiver said when it accepted the message."""

    provider_id: str | None = None
    detail: str = ""


class Channel(Protocol):
    """Sends one outbox message; blocking, called from the worker's threads (never from a request)."""

    @property
    def name(self) -> str:
        """The outbox ``channel`` value this channel delivers (email, telegram, sms, police_webhook)."""

    def send(self, message: OutboxMessage) -> DeliveryReceipt:
        """Deliver ``message``.

        Raises:
            TemporaryFailure: try again later.
            PermanentFailure: give up; the reason goes to the dead letters.
        """
