"""The vehicle-event stream end to end on real servers: ingest publishes, the aggregator counts exactly once."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from backend.broker.aggregator import VehicleAggregator
from backend.broker.config import BrokerSettings
from backend.broker.vehicles import VehicleStreamHandler, batch_messages
from backend.db import connect, connector, migrate
from backend.services.errors import TooManyRequestsError
from backend.store import vehicle_minutes
from kuzet.city.nats import NatsServer, server_config
from kuzet.contracts import VehicleEvent
from notifications.jetstream import JetStreamLink

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
_names = itertools.count()


def vehicle(camera: str, second: float, speed: float | None) -> VehicleEvent:
    at = T0 + timedelta(seconds=second)
    return VehicleEvent(
        event_id=uuid.uuid4(), camera_id=camera, captured_at=at, clock_source="ntp", track_id=int(second) % 1000,
        vehicle_class="car", speed_kmh=speed, first_seen=at - timedelta(seconds=2), last_seen=at,
    )  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = connect(tmp_path / "k.sqlite")
    migrate(database)
    yield database
    database.conn.close()


def _settings(tag: str) -> BrokerSettings:
    """Streams of their own per test (one server per module)."""
    return BrokerSettings(stream_prefix=f"T{tag.upper()}", subject_prefix=f"t{tag}")


def test_server_config_fsyncs_every_write(tmp_path: Path) -> None:
    text = server_config(4222, tmp_path / "js")
    assert "sync_interval: always" in text and "listen: 127.0.0.1:4222" in text and str(tmp_path / "js") in text


class _StalledPull:
    """A pull subscription whose ``fetch`` never answers (nats-py's lingering-request stall, nats.py#986)."""

    async def fetch(self, batch: int, timeout: float) -> list[object]:
        await asyncio.sleep(3600)
        return []


def test_a_stalled_pull_is_an_empty_batch_not_a_broker_error(
    nats_server: NatsServer, db: sqlite_utils.Database, tmp_path: Path
) -> None:
    settings = _settings(f"s{next(_names)}")
    link = JetStreamLink(nats_server.url, name="test")
    try:
        handler = VehicleStreamHandler(link, settings)
        handler.handle(db.conn, [vehicle("cam.a", 1, 40.0)])
        aggregator = VehicleAggregator(connector(tmp_path / "k.sqlite"), link, settings)
        real, aggregator.sub = aggregator.sub, _StalledPull()
        began = time.monotonic()
        assert aggregator.run_once(wait_s=0.2) == 0
        assert time.monotonic() - began < link.timeout_s  # cut at wait + grace, not the link's whole timeout
        aggregator.sub = real
        assert aggregator.run_once(wait_s=0.5) == 1  # the message is still there for the next pull
        aggregator.close()
    finally:
        link.close()


def test_minutes_and_speed_statistics(nats_server: NatsServer, db: sqlite_utils.Database, tmp_path: Path) -> None:
    settings = _settings(f"m{next(_names)}")
    link = JetStreamLink(nats_server.url, name="test")
    try:
        handler = VehicleStreamHandler(link, settings)
        events = [vehicle("cam.a", 1, 40.0), vehicle("cam.a", 30, 60.0), vehicle("cam.a", 61, None),
                  vehicle("cam-b", 5, 50.0)]  # fmt: skip
        handler.handle(db.conn, events)
        handler.handle(db.conn, events)  # the same batch again (a lost answer): dropped by Nats-Msg-Id
        aggregator = VehicleAggregator(connector(tmp_path / "k.sqlite"), link, settings)
        counted = aggregator.run_once(wait_s=0.5) + aggregator.run_once(wait_s=0.2)
        aggregator.close()
    finally:
        link.close()
    assert counted == 4
    rows = {(m.camera_id, m.minute): m for m in vehicle_minutes.minutes(db.conn)}
    first = rows[("cam.a", "2026-11-23T03:00")]
    assert (first.vehicles, first.with_speed, first.speed_mean, first.speed_min, first.speed_max) == (
        2,
        2,
        50.0,
        40.0,
        60.0,
    )
    assert first.speed_sq_sum == pytest.approx(40.0**2 + 60.0**2)
    second = rows[("cam.a", "2026-11-23T03:01")]
    assert (second.vehicles, second.with_speed, second.speed_max) == (1, 0, None)
    assert rows[("cam-b", "2026-11-23T03:00")].vehicles == 1


def test_a_redelivered_batch_below_the_mark_is_not_counted_again(
    nats_server: NatsServer, db: sqlite_utils.Database, tmp_path: Path
) -> None:
    settings = _settings(f"r{next(_names)}")
    link = JetStreamLink(nats_server.url, name="test")
    try:
        handler = VehicleStreamHandler(link, settings)
        for second in range(3):  # three messages: stream sequences 1, 2, 3
            handler.handle(db.conn, [vehicle("cam-r", second, 30.0)])
        with db.conn:  # as if a crashed aggregator had committed messages 1-2 but not acknowledged them
            vehicle_minutes.set_mark(db.conn, "aggregator", 2, T0.isoformat())
        aggregator = VehicleAggregator(connector(tmp_path / "k.sqlite"), link, settings)
        assert aggregator.run_once(wait_s=0.5) == 1
        aggregator.close()
    finally:
        link.close()
    assert vehicle_minutes.total_vehicles(db.conn) == 1


def test_messages_group_a_batch_per_camera() -> None:
    settings = BrokerSettings()
    events = [vehicle("cam-1", 1, 10.0), vehicle("cam-2", 2, 20.0), vehicle("cam-1", 3, 30.0)]
    messages = batch_messages(settings, events)
    assert [m.subject for m in messages] == ["kuzet.vehicles.cam-1", "kuzet.vehicles.cam-2"]
    assert batch_messages(settings, list(reversed(events)))[0].msg_id == messages[0].msg_id  # order-free id


@pytest.mark.slow
def test_nats_restarted_mid_stream_loses_nothing(db: sqlite_utils.Database, tmp_path: Path) -> None:
    """SIGKILL the server between acknowledged batches and restart it: every acknowledged event is counted once."""
    server = NatsServer(tmp_path / "nats").start()
    settings = _settings("k")
    link = JetStreamLink(server.url, name="publisher", timeout_s=2.0)
    handler = VehicleStreamHandler(link, settings)
    acknowledged, refused, pids = 0, 0, {server.proc.pid if server.proc else 0}
    try:
        for batch in range(40):
            events = [vehicle(f"cam-{i % 4}", batch + i / 100, 30.0 + i) for i in range(25)]
            if batch == 15:
                server.kill()
                threading.Timer(0.5, server.start).start()
            while True:  # the device's uplink: a refused batch is sent again
                try:
                    handler.handle(db.conn, events)
                    break
                except TooManyRequestsError:
                    refused += 1
            acknowledged += len(events)
            pids.add(server.proc.pid if server.proc else 0)
        aggregator = VehicleAggregator(connector(tmp_path / "k.sqlite"), link, settings)
        while aggregator.run_once(wait_s=0.5):
            pass
        aggregator.close()
    finally:
        link.close()
        server.stop()
    assert len(pids) == 2  # the server was killed and restarted mid-stream (the client buffered or was refused)
    assert vehicle_minutes.total_vehicles(db.conn) == acknowledged == 1000


@pytest.mark.parametrize("store_rows", [True, False])
def test_ingest_through_the_app_publishes_and_stores_rows_as_set(
    store_rows: bool, nats_server: NatsServer, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from backend.app import create_app
    from backend.settings import Settings
    from tests.backend.conftest import ADMIN, TEMPLATE_KEY

    tag = f"a{next(_names)}"
    broker = {"url": nats_server.url, "stream_prefix": f"T{tag.upper()}", "subject_prefix": f"t{tag}",
              "store_vehicle_events": store_rows}  # fmt: skip
    raw = {"database": tmp_path / "k.sqlite", "media_dir": tmp_path / "m", "admin_token": ADMIN,
           "template_key": TEMPLATE_KEY, "broker": broker}  # fmt: skip
    settings = Settings.model_validate(raw)
    now = datetime.now(UTC)
    events = [vehicle("road-1", 0, 50.0).model_copy(update={"captured_at": now}) for _ in range(3)]
    body = {"events": [json.loads(e.model_dump_json()) for e in events]}
    with TestClient(create_app(settings)) as client:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        answer = client.post(
            "/api/v1/devices", json={"camera_id": "road-1", "kind": "traffic", "site": "d"}, headers=admin
        )
        key = {"X-API-Key": answer.json()["api_key"]}
        for _ in range(2):  # the second time: a lost answer, the uplink sends the batch again
            assert client.post("/api/v1/events", json=body, headers=key).status_code == 200
    db = connect(tmp_path / "k.sqlite")
    try:
        rows = db.execute("SELECT COUNT(*) FROM events WHERE kind = 'vehicle'").fetchone()[0]
        link = JetStreamLink(nats_server.url, name="test")
        try:
            aggregator = VehicleAggregator(connector(tmp_path / "k.sqlite"), link, settings.broker)
            while aggregator.run_once(wait_s=0.3):
                pass
            aggregator.close()
        finally:
            link.close()
        counted = vehicle_minutes.total_vehicles(db.conn)
    finally:
        db.conn.close()
    assert (rows, counted) == ((3 if store_rows else 0), 3)
