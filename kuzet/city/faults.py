"""Fault injection on a running city setup: SIGKILL an API process while a device streams vehicle events to it.

The device side is an uplink: each batch is resent until it is acknowledged. Afterwards every event must be stored
exactly once, and the broker's per-minute aggregates must count each exactly once. Used by the test suite (1,000
events) and by ``kuzet loadtest`` (5,000).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from backend.broker.aggregator import VehicleAggregator
from backend.db import connect, connector
from backend.store import vehicle_minutes
from kuzet.city.stack import CityStack
from notifications.jetstream import JetStreamLink


def _batches(prefix: str, events: int, batch: int) -> list[tuple[str, bytes]]:
    """(camera, body) of ``events`` vehicle events of two cameras, ``batch`` per request, each camera in order."""
    now = datetime.now(UTC)
    out = []
    for camera in (f"{prefix}-0", f"{prefix}-1"):
        mine = [
            {"kind": "vehicle", "event_id": str(uuid.uuid4()), "camera_id": camera, "clock_source": "ntp",
             "captured_at": (now + timedelta(milliseconds=20 * i)).isoformat(), "track_id": i, "vehicle_class": "car",
             "speed_kmh": 30.0 + i % 40, "first_seen": now.isoformat(),
             "last_seen": (now + timedelta(milliseconds=20 * i)).isoformat()}
            for i in range(events // 2)
        ]  # fmt: skip
        out += [(camera, json.dumps({"events": mine[s : s + batch]}).encode()) for s in range(0, len(mine), batch)]
    return out


def kill_during_stream(city: CityStack, events: int = 1000, kills: int = 2, batch: int = 50) -> dict[str, Any]:
    """Stream ``events`` to the first API process and SIGKILL it ``kills`` times on the way; the outcome counts."""
    assert city.settings is not None
    prefix = f"fault{uuid.uuid4().hex[:6]}"
    keys = _register(city, prefix)
    batches = _batches(prefix, events, batch)
    acknowledged: list[int] = []
    url = city.api_urls[0]

    def uplink() -> None:
        with httpx.Client(timeout=10) as client:
            for index, (camera, body) in enumerate(batches):
                headers = {"X-API-Key": keys[camera], "Content-Type": "application/json"}
                while True:
                    try:
                        if client.post(f"{url}/api/v1/events", content=body, headers=headers).status_code == 200:
                            acknowledged.append(index)
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.05)

    sender = threading.Thread(target=uplink, name="fault-uplink")
    sender.start()
    for k in range(kills):
        while len(acknowledged) < (k + 1) * len(batches) // (kills + 1) and sender.is_alive():
            time.sleep(0.005)
        city.apis[0].kill()  # SIGKILL with a request in flight
        city.restart_api(0)
    sender.join(300)
    return {"events": events, "kills": kills, "acknowledged_batches": len(acknowledged), "batches": len(batches),
            **_outcome(city, prefix)}  # fmt: skip


def _register(city: CityStack, prefix: str) -> dict[str, str]:
    assert city.settings is not None
    keys = {}
    for camera in (f"{prefix}-0", f"{prefix}-1"):
        body = {"camera_id": camera, "kind": "traffic", "site": "fault-district"}
        admin = {"Authorization": f"Bearer {city.settings.admin_token}"}
        answer = httpx.post(f"{city.api_urls[-1]}/api/v1/devices", json=body, headers=admin)
        answer.raise_for_status()
        keys[camera] = str(answer.json()["api_key"])
    return keys


def _outcome(city: CityStack, prefix: str) -> dict[str, int]:
    """Rows and distinct ids stored for the two cameras, and what the aggregator counted for them."""
    assert city.settings is not None
    if city.workers:  # their aggregators consume the stream: wait until they counted what was stored
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (counts := _counts(city, prefix))[2] < counts[0]:
            time.sleep(0.5)
    else:
        link = JetStreamLink(city.nats.url, name="fault-aggregator")
        try:
            aggregator = VehicleAggregator(connector(city.settings.database), link, city.settings.broker)
            while aggregator.run_once(wait_s=0.5):
                pass
            aggregator.close()
        finally:
            link.close()
    stored, distinct, counted = _counts(city, prefix)
    return {"stored": stored, "distinct": distinct, "aggregated": counted}


def _counts(city: CityStack, prefix: str) -> tuple[int, int, int]:
    assert city.settings is not None
    db = connect(city.settings.database)
    try:
        stored = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM events WHERE camera_id IN (:a, :b)",
            {"a": f"{prefix}-0", "b": f"{prefix}-1"},
        ).fetchone()
        counted = sum(m.vehicles for c in (f"{prefix}-0", f"{prefix}-1") for m in vehicle_minutes.minutes(db.conn, c))
    finally:
        db.conn.close()
    return int(stored[0]), int(stored[1]), counted
