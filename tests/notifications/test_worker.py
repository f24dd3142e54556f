"""Back-off policy and worker guards."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from backend.db import connector
from notifications.channels.sms_http import SmsHttpChannel
from notifications.config import NotificationSettings, SmsConfig, WorkerConfig
from notifications.worker import OutboxWorker, backoff_delay

POLICY = WorkerConfig(backoff_initial_s=2.0, backoff_max_s=60.0, backoff_jitter=0.0)


@pytest.mark.parametrize(
    ("attempts", "retry_after", "expected"),
    [
        (1, None, 2.0),
        (2, None, 4.0),
        (3, None, 8.0),
        (5, None, 32.0),
        (6, None, 60.0),
        (30, None, 60.0),
        (1, 10.0, 10.0),
        (3, 1.0, 8.0),
        (1, 9999.0, 60.0),
    ],
)
def test_exponential_capped_with_retry_after(attempts: int, retry_after: float | None, expected: float) -> None:
    assert backoff_delay(attempts, POLICY, random.Random(0), retry_after) == pytest.approx(expected)


def test_jitter_spreads_within_bounds() -> None:
    policy = POLICY.model_copy(update={"backoff_jitter": 0.25})
    rng = random.Random(7)
    delays = [backoff_delay(3, policy, rng) for _ in range(500)]
    assert 6.0 <= min(delays) < 6.5 and 9.5 < max(delays) <= 10.0
    assert len({round(d, 6) for d in delays}) > 400


def test_worker_needs_a_channel(db_path: Path) -> None:
    with pytest.raises(ValueError, match="no notification channel"):
        OutboxWorker(connector(db_path), {}, WorkerConfig())


def test_rows_of_unconfigured_channels_are_left_alone(db_path: Path) -> None:
    from backend.db import connect, transaction
    from notifications import outbox

    db = connect(db_path)
    with transaction(db) as conn:
        outbox.enqueue(
            conn,
            channel="telegram",
            recipient="1",
            subject="s",
            body="b",
            dedupe_key="k",
            school_id="s",
            kind="entered",
            language="en",
        )
    sms = SmsHttpChannel(SmsConfig(url="http://127.0.0.1:9/send", api_key="gateway-key-0123"))
    worker = OutboxWorker(connector(db_path), {"sms": sms}, WorkerConfig())
    assert worker.run_once() == 0
    worker.close()
    assert outbox.counts(db.conn)["pending"] == 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown timezone"),
        ({"worker": {"max_attempts": 0}}, "max_attempts"),
        ({"worker": {"retries": 3}}, "retries"),
        ({"telegram": {"token": "changeme-token"}}, "placeholder"),
        ({"sms": {"url": "not a url", "api_key": "gateway-key-0123"}}, "url"),
    ],
)
def test_settings_refuse_bad_values(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NotificationSettings.model_validate(raw)


def test_documented_example_section_is_valid_once_filled_in() -> None:
    import re
    import textwrap

    import yaml

    import notifications
    from notifications.channels import build_channels

    example = textwrap.dedent((notifications.__doc__ or "").split("::", 1)[1])
    with pytest.raises(ValueError, match="placeholder"):
        NotificationSettings.model_validate(yaml.safe_load(example)["notifications"])
    filled = re.sub(r"<[^>]+>", "f3a9c1d27b4e8f6a0c5d9e2b7a4f1c8d", example)
    settings = NotificationSettings.model_validate(yaml.safe_load(filled)["notifications"])
    assert sorted(build_channels(settings)) == ["email", "police_webhook", "sms", "telegram"]
