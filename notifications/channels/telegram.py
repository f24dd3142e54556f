"""Telegram Bot API channel: ``POST {base_url}/bot{token}/sendMessage`` with ``chat_id`` and ``text``."""

from __future__ import annotations

import json
from typing import Any

import httpx

from notifications.channels.base import DeliveryReceipt, PermanentFailure, TemporaryFailure
from notifications.channels.http import post
from notifications.config import TelegramConfig
from notifications.outbox import OutboxMessage


def _description(response_json: Any) -> str:
    return str(response_json.get("description", "")) if isinstance(response_json, dict) else ""


class TelegramChannel:
    """Sends the message body to a chat id (the recipient); 429/5xx are temporary, 400/403 permanent."""

    name = "telegram"

    def __init__(self, config: TelegramConfig, client: httpx.Client | None = None) -> None:
        self.url = f"{str(config.base_url).rstrip('/')}/bot{config.token.get_secret_value()}/sendMessage"
        self.client = client or httpx.Client(timeout=config.timeout_s)

    def send(self, message: OutboxMessage) -> DeliveryReceipt:
        """Send one message; the receipt carries Telegram's message_id."""
        body = json.dumps({"chat_id": message.recipient, "text": message.body}, ensure_ascii=False).encode()
        try:
            response = post(
                self.client,
                self.url,
                content=body,
                headers={"Content-Type": "application/json"},
                what="telegram",
            )
        except TemporaryFailure as exc:
            raise TemporaryFailure(exc.reason.replace(self.url, "<bot url>"), exc.retry_after_s) from exc
        except PermanentFailure as exc:
            raise PermanentFailure(exc.reason.replace(self.url, "<bot url>")) from exc
        payload = response.json()
        if not isinstance(payload, dict) or not payload.get("ok"):
            raise PermanentFailure(f"telegram: not ok: {_description(payload) or response.text[:200]}")
        result = payload.get("result") or {}
        return DeliveryReceipt(provider_id=str(result.get("message_id", "")) or None, detail="telegram ok")

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.client.close()
