"""SMS over an HTTP gateway: ``POST {url}`` JSON ``{to, text, sender, client_ref}`` with ``X-API-Key``.

The gateway answers 2xx with ``{"message_id": ...}``; 5xx, 408/429 and timeouts are temporary, other 4xx (bad
number, bad key, no credit) permanent. ``client_ref`` is the outbox dedupe key, so a gateway that deduplicates by it
never sends a retried message twice.
"""

from __future__ import annotations

import json

import httpx

from notifications.channels.base import DeliveryReceipt
from notifications.channels.http import post
from notifications.config import SmsConfig
from notifications.outbox import OutboxMessage


class SmsHttpChannel:
    """Sends the message body as one SMS to the recipient phone number."""

    name = "sms"

    def __init__(self, config: SmsConfig, client: httpx.Client | None = None) -> None:
        self.config = config
        self.url = str(config.url)
        self.client = client or httpx.Client(timeout=config.timeout_s)

    def send(self, message: OutboxMessage) -> DeliveryReceipt:
        """Send one SMS; the receipt carries the gateway's message id."""
        body = {"to": message.recipient, "text": message.body, "sender": self.config.sender}
        body["client_ref"] = message.dedupe_key
        response = post(
            self.client,
            self.url,
            content=json.dumps(body, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json", "X-API-Key": self.config.api_key.get_secret_value()},
            what="sms gateway",
        )
        try:
            provider_id = response.json().get("message_id")
        except (ValueError, AttributeError):
            provider_id = None
        return DeliveryReceipt(provider_id=None if provider_id is None else str(provider_id), detail="sms accepted")

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.client.close()
