"""Store-and-forward against a real backend process: outages, SIGKILL, edge restarts, health."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.db import connect
from edge.config import UplinkConfig
from edge.health import HealthServer, health_report
from edge.spool import Spool, make_attachment
from edge.uplink import AuthError, Backoff, UplinkError, Uploader
from tests.support.events import entry
from tests.support.servers import BackendProcess


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[BackendProcess]:
    server = BackendProcess(tmp_path / "backend")
    server.start()
    yield server
    server.stop()


def _uplink(server: BackendProcess, key: str, **overrides: object) -> UplinkConfig:
    fields: dict[str, object] = {
        "backend_url": server.url,
        "api_key": key,
        "batch_size": 250,
        "backoff_initial_s": 0.05,
        "backoff_max_s": 0.5,
        "timeout_s": 5.0,
        "idle_poll_s": 0.02,
    }
    fields.update(overrides)
    return UplinkConfig.model_validate(fields)


def _stored(server: BackendProcess) -> tuple[int, int]:
    db = connect(server.root / "backend.sqlite")
    try:
        total, distinct = db.execute("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM events").fetchone()
    finally:
        db.conn.close()
    return int(total), int(distinct)


def _wait(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


@pytest.mark.slow
def test_5000_events_through_two_backend_kills_stored_exactly_once(backend: BackendProcess, tmp_path: Path) -> None:
    key = backend.register("door-1")
    spool = Spool(tmp_path / "edge" / "spool.sqlite")
    uploader = Uploader(spool, _uplink(backend, key))
    stop = threading.Event()
    worker = threading.Thread(target=uploader.run, args=(stop,))
    worker.start()
    events = [entry(n=i) for i in range(5000)]
    kills = {1200: False, 3000: False}
    for i, event in enumerate(events):
        spool.put(event)
        if i in kills:
            backend.kill()  # mid-stream: requests in flight die with the process
            time.sleep(0.3)
            backend.start()
        if i % 500 == 0:
            time.sleep(0.02)  # a camera produces events over time, not all at once
    _wait(lambda: spool.depth() == 0, 60)
    stop.set()
    worker.join(10)
    assert _stored(backend) == (5000, 5000)
    assert uploader.status.consecutive_failures == 0


def test_edge_restart_mid_spool_loses_nothing(backend: BackendProcess, tmp_path: Path) -> None:
    key = backend.register("door-1")
    path = tmp_path / "edge" / "spool.sqlite"
    spool = Spool(path)
    for i in range(600):
        spool.put(entry(n=i))
    first = Uploader(spool, _uplink(backend, key, batch_size=200))
    assert first.drain_once() == 200
    first.close()
    spool.close()  # the device reboots here with 400 events still queued
    spool = Spool(path)
    assert spool.depth() == 400
    second = Uploader(spool, _uplink(backend, key, batch_size=200))
    assert second.status.last_success is not None, "the last successful upload survives the restart"
    while spool.depth():
        second.drain_once()
    assert _stored(backend) == (600, 600)


def test_outage_then_recovery_with_attachments(backend: BackendProcess, tmp_path: Path) -> None:
    key = backend.register("door-1")
    spool = Spool(tmp_path / "edge" / "spool.sqlite")
    uploader = Uploader(spool, _uplink(backend, key))
    backend.stop()
    data = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
    blob = make_attachment(data, "application/octet-stream", "snapshot")
    spool.put(entry(attachments=[blob]), {blob.sha256: data})
    with pytest.raises(UplinkError):
        uploader.drain_once()
    backend.start()
    assert uploader.drain_once() == 1
    assert _stored(backend) == (1, 1)
    db = connect(backend.root / "backend.sqlite")
    try:
        row = db.execute("SELECT size_bytes FROM media WHERE sha256 = ?", [blob.sha256]).fetchone()
    finally:
        db.conn.close()
    assert row == (len(data),)  # the bytes arrived whole (the file itself is encrypted at rest)
    assert (backend.root / "media" / blob.sha256[:2] / blob.sha256).is_file()


def _rejected_reasons(spool: Spool) -> dict[str, str]:
    rows = spool._db.execute("SELECT event_id, reason FROM rejected").fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def test_poison_events_are_set_aside_one_by_one_and_never_block_the_spool(
    backend: BackendProcess, tmp_path: Path
) -> None:
    """Each kind of poison in one queue: a reused id with other content (409), a capture time in 2099 (422 naming
    the event), track_id 2**63 and a capture time that overflows UTC (422 from the wire check); the good events
    around them are stored and the spool empties."""
    key = backend.register("door-1")
    spool = Spool(tmp_path / "edge" / "spool.sqlite")
    uploader = Uploader(spool, _uplink(backend, key, batch_size=50))
    original = entry(n=1)
    spool.put(original)
    assert uploader.drain_once() == 1
    good = [entry(n=i) for i in range(10, 16)]
    future = entry(n=2).model_copy(update={"captured_at": entry().captured_at.replace(year=2099)})
    huge_track = entry(n=3).model_copy(update={"track_id": 2**63})
    overflow = entry(n=4)
    poison = [original.model_copy(update={"pupil_id": "p9"}), future, huge_track, overflow]
    for event in [good[0], poison[0], good[1], poison[1], good[2], poison[2], good[3], poison[3], *good[4:]]:
        spool.put(event)
    with spool._lock, spool._tx():  # a device whose clock wrote a year-0001 time with an offset
        spool._db.execute(
            "UPDATE events SET payload = replace(payload, ?, '0001-01-01T00:00:00+01:00') WHERE event_id = ?",
            [overflow.captured_at.isoformat().replace("+00:00", "Z"), str(overflow.event_id)],
        )
    for _ in range(20):
        if not spool.depth():
            break
        uploader.drain_once()
    assert spool.depth() == 0
    reasons = _rejected_reasons(spool)
    assert set(reasons) == {str(e.event_id) for e in poison}
    assert "different content" in reasons[str(original.event_id)]
    assert "after the receipt time" in reasons[str(future.event_id)]
    assert "track_id" in reasons[str(huge_track.event_id)]
    assert "captured_at" in reasons[str(overflow.event_id)]
    assert _stored(backend) == (1 + len(good), 1 + len(good))


def test_revoked_key_is_an_auth_error_and_keeps_events(backend: BackendProcess, tmp_path: Path) -> None:
    key = backend.register("door-1")
    httpx.post(
        f"{backend.url}/api/v1/devices/door-1/revoke",
        headers={"Authorization": f"Bearer {backend.admin_token}"},
    ).raise_for_status()
    spool = Spool(tmp_path / "edge" / "spool.sqlite")
    spool.put(entry())
    with pytest.raises(AuthError, match="401"):
        Uploader(spool, _uplink(backend, key)).drain_once()
    assert spool.depth() == 1


def test_health_endpoint_reports_depth_and_last_upload(backend: BackendProcess, tmp_path: Path) -> None:
    key = backend.register("door-1")
    spool = Spool(tmp_path / "edge" / "spool.sqlite")
    uploader = Uploader(spool, _uplink(backend, key, batch_size=2))
    for i in range(3):
        spool.put(entry(n=i))
    health = HealthServer("127.0.0.1", 0, lambda: health_report("door-1", spool, uploader.status)).start()
    try:
        before = httpx.get(f"{health.url}/health").json()
        assert before["spool_depth"] == 3 and before["last_successful_upload"] is None
        uploader.drain_once()
        after = httpx.get(f"{health.url}/health").json()
        assert after["spool_depth"] == 1 and after["last_successful_upload"] is not None
    finally:
        health.stop()


@pytest.mark.parametrize("failures", [0, 1, 3, 10, 40])
def test_backoff_grows_and_is_capped(failures: int) -> None:
    import random

    backoff = Backoff(initial_s=0.5, max_s=30.0, rng=random.Random(failures))
    delays = [backoff.next_delay() for _ in range(failures + 1)]
    cap = min(30.0, 0.5 * 2**failures)
    assert 0.25 <= delays[-1] <= cap
    backoff.reset()
    assert backoff.next_delay() <= 0.5
