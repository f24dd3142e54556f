"""Retention per class of traffic data on a real SQLite file and real media files: evidence (unconfirmed and
confirmed), plate reads and vehicle events each go when their configured time is up, and not before."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from backend.services.media import MediaVault
from backend.services.school_app import run_purge
from backend.settings import TrafficRetentionSettings
from edge.spool import make_attachment
from kuzet.contracts import ClockSource, PlateAlertEvent, VehicleEvent
from tests.backend.violations.conftest import Traffic

T = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _count(traffic: Traffic, sql: str) -> int:
    conn = sqlite3.connect(traffic.settings.database)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def _post(traffic: Traffic, events: list[object], media: dict[str, bytes]) -> None:
    key = {"X-API-Key": traffic.keys["cam-a"]}
    for sha, data in media.items():
        traffic.client.put(f"/api/v1/media/{sha}", content=data, headers={**key, "Content-Type": "image/jpeg"})
    body = {"events": [e.model_dump(mode="json") for e in events]}  # type: ignore[attr-defined]
    assert traffic.client.post("/api/v1/events", json=body, headers=key).status_code == 200


def _plate_reads(traffic: Traffic) -> tuple[str, str]:
    """A vehicle event with a plate and a watchlist alert with its crop; returns (vehicle id, crop sha)."""
    ok, crop = cv2.imencode(".jpg", np.full((30, 100, 3), 200, np.uint8))
    assert ok
    attachment = make_attachment(crop.tobytes(), "image/jpeg", "plate_crop")
    common = {"camera_id": "cam-a", "captured_at": T, "clock_source": ClockSource.NTP}
    vehicle = VehicleEvent(event_id=uuid.uuid4(), track_id=3, vehicle_class="car", first_seen=T, last_seen=T,
                           plate_text="123ABC02", plate_confidence=0.9, **common)  # fmt: skip
    alert = PlateAlertEvent(event_id=uuid.uuid4(), plate_read="123ABC02", plate_listed="123ABC02", distance=0,
                            reason="stolen", read_confidence=0.9, attachments=(attachment,), **common)  # fmt: skip
    _post(traffic, [vehicle, alert], {attachment.sha256: crop.tobytes()})
    return str(vehicle.event_id), attachment.sha256


def test_each_class_goes_when_its_time_is_up(traffic: Traffic) -> None:
    vault = MediaVault.of(traffic.settings)
    confirmed, event, _ = traffic.post("cam-a")
    rejected, rejected_event, _ = traffic.post("cam-a")
    auth = traffic.auth("op-a")
    traffic.client.post(f"/api/v1/violations/{confirmed}/plate", json={"plate": "555KKK05"}, headers=auth)
    assert traffic.client.post(f"/api/v1/violations/{confirmed}/confirm", json={}, headers=auth).status_code == 200
    traffic.client.post(f"/api/v1/violations/{rejected}/reject", json={"reason": "blurred"}, headers=auth)
    vehicle, crop = _plate_reads(traffic)
    only_rejected = {a.sha256 for a in rejected_event.attachments} - {a.sha256 for a in event.attachments}
    now = datetime.now(UTC)

    run_purge(traffic.settings, now + timedelta(days=29))
    assert vault.read(crop) is not None and _count(traffic, "SELECT COUNT(*) FROM events WHERE kind = 'plate_alert'")

    run_purge(traffic.settings, now + timedelta(days=31))  # plate reads: 30 days
    assert vault.read(crop) is None and not _count(traffic, "SELECT COUNT(*) FROM events WHERE kind = 'plate_alert'")
    assert (
        _count(traffic, f"SELECT COUNT(*) FROM events WHERE event_id = '{vehicle}' AND payload LIKE '%123ABC02%'") == 0
    )
    assert _count(traffic, "SELECT COUNT(*) FROM violations") == 2  # evidence: 90 days

    run_purge(traffic.settings, now + timedelta(days=91))  # unconfirmed evidence
    assert _count(traffic, "SELECT COUNT(*) FROM violations") == 1
    assert all(vault.read(sha) is None for sha in only_rejected)
    assert all(vault.read(a.sha256) is not None for a in event.attachments)  # shared scene.json kept: still cited
    assert _count(traffic, f"SELECT COUNT(*) FROM events WHERE event_id = '{vehicle}'") == 1

    run_purge(traffic.settings, now + timedelta(days=366))  # vehicle events
    assert _count(traffic, "SELECT COUNT(*) FROM events WHERE kind = 'vehicle'") == 0
    assert _count(traffic, "SELECT COUNT(*) FROM violations") == 1

    run_purge(traffic.settings, now + timedelta(days=1826))  # confirmed evidence, its hand-off and police message
    assert _count(traffic, "SELECT COUNT(*) FROM violations") == 0
    assert _count(traffic, "SELECT COUNT(*) FROM outbox") == 0
    assert _count(traffic, "SELECT COUNT(*) FROM violation_handoffs") == 0
    assert all(vault.read(a.sha256) is None for a in event.attachments)
    assert _count(traffic, "SELECT COUNT(*) FROM violation_audit WHERE detail LIKE '%555KKK05%'") == 0
    assert _count(traffic, "SELECT COUNT(*) FROM violation_audit WHERE action = 'confirm'") == 1  # who decided stays


@pytest.mark.parametrize(
    "values",
    [{"evidence_days": 0}, {"confirmed_evidence_days": 10}, {"evidence_days": 400, "confirmed_evidence_days": 300}],
)
def test_retention_settings_are_bounded(values: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        TrafficRetentionSettings(**values)
