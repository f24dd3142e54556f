"""Signed HTTP webhook to the police system for confirmed violations.

Each POST carries the violation JSON (the outbox body) and three headers:

- ``X-Kuzet-Timestamp``: UNIX seconds when signed; the receiver rejects old ones (replays).
- ``X-Kuzet-Delivery``: the outbox dedupe key (``police:{violation_id}``); the same on every retry, so the
  receiver stores a violation once even if a response was lost and we sent again.
- ``X-Kuzet-Signature``: ``sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`` or
  ``ed25519=<base64 signature of the same bytes>``.

:func:`verify` is the receiver's side (used by the tests and offered to the police integrator).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from notifications.channels.base import DeliveryReceipt
from notifications.channels.http import post
from notifications.config import PoliceWebhookConfig
from notifications.outbox import OutboxMessage

SIGNATURE = "X-Kuzet-Signature"
TIMESTAMP = "X-Kuzet-Timestamp"
DELIVERY = "X-Kuzet-Delivery"


class SignatureError(ValueError):
    """The receiver must refuse the request; the message says exactly why."""


def signed_bytes(timestamp: str, body: bytes) -> bytes:
    """What is signed: the timestamp, a dot, then the exact body bytes."""
    return timestamp.encode() + b"." + body


def hmac_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` header value."""
    return "sha256=" + hmac.new(secret.encode(), signed_bytes(timestamp, body), hashlib.sha256).hexdigest()


def ed25519_signature(key: Ed25519PrivateKey, timestamp: str, body: bytes) -> str:
    """``ed25519=<base64>`` header value."""
    return "ed25519=" + base64.b64encode(key.sign(signed_bytes(timestamp, body))).decode()


def _check_timestamp(raw: str | None, now: float, tolerance_s: float) -> str:
    if raw is None:
        raise SignatureError(f"missing {TIMESTAMP} header")
    try:
        sent = float(raw)
    except ValueError as exc:
        raise SignatureError(f"{TIMESTAMP} is not a number: {raw!r}") from exc
    if abs(now - sent) > tolerance_s:
        raise SignatureError(
            f"{TIMESTAMP} is {now - sent:.0f} s off (allowed {tolerance_s:.0f} s): replay or clock skew"
        )
    return raw


def verify(
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: str | None = None,
    public_key: Ed25519PublicKey | None = None,
    now: float | None = None,
    tolerance_s: float = 300.0,
) -> None:
    """Check a received webhook (header names case-insensitive).

    Raises:
        SignatureError: missing or stale timestamp, missing/unknown/wrong signature.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    timestamp = _check_timestamp(lower.get(TIMESTAMP.lower()), time.time() if now is None else now, tolerance_s)
    given = lower.get(SIGNATURE.lower())
    if given is None:
        raise SignatureError(f"missing {SIGNATURE} header")
    scheme, _, value = given.partition("=")
    if scheme == "sha256" and secret is not None:
        if not hmac.compare_digest(given, hmac_signature(secret, timestamp, body)):
            raise SignatureError("HMAC-SHA256 signature does not match the body and timestamp")
    elif scheme == "ed25519" and public_key is not None:
        try:
            public_key.verify(base64.b64decode(value, validate=True), signed_bytes(timestamp, body))
        except (InvalidSignature, ValueError) as exc:
            raise SignatureError("Ed25519 signature does not match the body and timestamp") from exc
    else:
        raise SignatureError(f"signature scheme {scheme!r} is not the one this receiver expects")


def _signer(config: PoliceWebhookConfig) -> Callable[[str, bytes], str]:
    if config.signing == "hmac-sha256":
        secret = config.secret.get_secret_value() if config.secret else ""
        return lambda timestamp, body: hmac_signature(secret, timestamp, body)
    assert config.private_key is not None  # enforced by PoliceWebhookConfig
    key = load_pem_private_key(config.private_key.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{config.private_key} is not an Ed25519 private key")
    return lambda timestamp, body: ed25519_signature(key, timestamp, body)


class PoliceWebhookChannel:
    """POSTs the violation JSON, signed, to the configured receiver."""

    name = "police_webhook"

    def __init__(
        self,
        config: PoliceWebhookConfig,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = str(config.url)
        self.sign = _signer(config)
        self.client = client or httpx.Client(timeout=config.timeout_s)
        self.clock = clock

    def send(self, message: OutboxMessage) -> DeliveryReceipt:
        """Sign and POST one violation; a 2xx answer means the police system stored it."""
        body = message.body.encode()
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP: timestamp,
            DELIVERY: message.dedupe_key,
            SIGNATURE: self.sign(timestamp, body),
        }
        response = post(self.client, self.url, content=body, headers=headers, what="police webhook")
        try:
            answer = response.json()
        except ValueError:  # a 2xx without JSON still means accepted
            answer = None
        receipt_id = answer.get("id") if isinstance(answer, dict) else None
        return DeliveryReceipt(provider_id=None if receipt_id is None else str(receipt_id), detail="police accepted")

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.client.close()
