"""Confirmed violation -> outbox -> signed webhook -> the police receiver verifies it and stores it once."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from backend.db import connect, connector, transaction
from notifications import outbox
from notifications.channels.police_webhook import (
    DELIVERY,
    SIGNATURE,
    TIMESTAMP,
    PoliceWebhookChannel,
    SignatureError,
    hmac_signature,
    verify,
)
from notifications.config import PoliceWebhookConfig, WorkerConfig
from notifications.worker import OutboxWorker
from tests.notifications.servers import PoliceReceiver

SECRET = "police-shared-secret-0123456789abcdef"
CONFIG = WorkerConfig(backoff_initial_s=1.0, backoff_jitter=0.0, max_attempts=5, lease_s=30.0)
VIOLATION = {"plate": "123ABC02", "violation": "red_light", "captured_at": "2026-09-01T02:52:00+00:00"}


@pytest.fixture(params=["hmac-sha256", "ed25519"])
def police(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[PoliceReceiver, PoliceWebhookConfig]]:
    if request.param == "hmac-sha256":
        receiver = PoliceReceiver(secret=SECRET).start()
        config = PoliceWebhookConfig(url=f"{receiver.url}/violations", secret=SECRET)
    else:
        key = Ed25519PrivateKey.generate()
        pem = tmp_path / "police_signing.pem"
        pem.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        receiver = PoliceReceiver(public_key=key.public_key()).start()
        config = PoliceWebhookConfig(
            url=f"{receiver.url}/violations",
            signing="ed25519",
            private_key=pem,
        )
    yield receiver, config
    receiver.stop()


def _confirm(db_path: Path, violation_id: str) -> None:
    db = connect(db_path)
    with transaction(db) as conn:
        outbox.enqueue_police(conn, violation_id=violation_id, payload=VIOLATION, summary="red light 123ABC02")
    db.conn.close()


def _status(db_path: Path, violation_id: str) -> tuple[str, int]:
    db = connect(db_path)
    state = outbox.state(db.conn, f"police:{violation_id}")
    db.conn.close()
    assert state is not None
    return state.status, state.attempts


def test_signed_verifiable_exactly_once(db_path: Path, police: tuple[PoliceReceiver, PoliceWebhookConfig]) -> None:
    receiver, config = police
    _confirm(db_path, "v-1")
    _confirm(db_path, "v-1")  # the operator double-clicks confirm
    worker = OutboxWorker(connector(db_path), {"police_webhook": PoliceWebhookChannel(config)}, CONFIG)
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    worker.close()
    assert receiver.rejected == []
    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert json.loads(got.text) == {"violation_id": "v-1", **VIOLATION}
    assert got.headers[DELIVERY] == "police:v-1"
    assert got.headers[SIGNATURE].startswith("sha256=" if config.signing == "hmac-sha256" else "ed25519=")
    assert _status(db_path, "v-1") == ("sent", 1)


def test_police_down_then_delivered_once_even_after_a_lost_answer(
    db_path: Path, police: tuple[PoliceReceiver, PoliceWebhookConfig]
) -> None:
    receiver, config = police
    _confirm(db_path, "v-2")
    clock = [time.time()]
    channel = PoliceWebhookChannel(config)
    worker = OutboxWorker(
        connector(db_path), {"police_webhook": channel}, CONFIG, clock=lambda: clock[0], rng=random.Random(1)
    )
    receiver.stop()
    assert worker.run_once() == 1
    assert _status(db_path, "v-2") == ("pending", 1)
    receiver.start()
    clock[0] += 1.0
    # A worker claims and sends, then dies before recording "sent" (the answer was lost).
    crashed = OutboxWorker(
        connector(db_path), {"police_webhook": PoliceWebhookChannel(config)}, CONFIG, clock=lambda: clock[0]
    )
    (message,) = crashed.claim()
    crashed.channels["police_webhook"].send(message)
    clock[0] += CONFIG.lease_s + 1
    assert worker.run_once() == 1  # the lease expired: sent again with the same delivery id
    worker.close()
    crashed.close()
    assert receiver.requests == 2
    assert len(receiver.received) == 1  # the receiver stored it once
    assert _status(db_path, "v-2") == ("sent", 3)


def test_receiver_rejects_tampered_stale_and_unsigned_requests() -> None:
    body = json.dumps({"violation_id": "v-3", **VIOLATION}).encode()
    now = time.time()
    stamp = str(int(now))
    good = {TIMESTAMP: stamp, SIGNATURE: hmac_signature(SECRET, stamp, body)}
    verify(body, good, secret=SECRET, now=now)
    cases = [
        (body.replace(b"123ABC02", b"999ZZZ02"), good, "does not match"),
        (body, {**good, TIMESTAMP: str(int(now) - 3600)}, "replay"),
        (body, {TIMESTAMP: stamp}, "missing X-Kuzet-Signature"),
        (body, {SIGNATURE: good[SIGNATURE]}, "missing X-Kuzet-Timestamp"),
        (body, {**good, SIGNATURE: hmac_signature("another-secret-of-32-characters!!", stamp, body)}, "does not match"),
        (body, {**good, SIGNATURE: "md5=abc"}, "scheme 'md5'"),
    ]
    for data, headers, reason in cases:
        with pytest.raises(SignatureError, match=reason):
            verify(data, headers, secret=SECRET, now=now)


def test_receiver_server_refuses_a_forged_request(police: tuple[PoliceReceiver, PoliceWebhookConfig]) -> None:
    receiver, _ = police
    body = b'{"violation_id": "forged"}'
    stamp = str(int(time.time()))
    headers = {TIMESTAMP: stamp, SIGNATURE: hmac_signature("wrong-secret-wrong-secret-wrong!!", stamp, body)}
    response = httpx.post(f"{receiver.url}/violations", content=body, headers=headers)
    assert response.status_code == 401
    assert receiver.received == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"signing": "hmac-sha256"}, "secret is required"),
        ({"signing": "ed25519"}, "private_key is required"),
        ({"secret": "changeme-changeme-changeme-changeme"}, "placeholder"),
    ],
)
def test_config_refuses_missing_or_placeholder_keys(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PoliceWebhookConfig.model_validate({"url": "http://127.0.0.1:9/violations", **fields})
