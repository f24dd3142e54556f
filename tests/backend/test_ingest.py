"""Batch ingest on both database engines: idempotent by event UUID (also when two requests race with one batch),
attachments first, replay stores nothing twice, a reused id with other content is a recorded 409, capture times are
checked against the receipt time, events sit in day partitions on PostgreSQL and retention drops whole days."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from PIL import Image

from backend.app import create_app
from backend.db import connect, migrate, transaction
from backend.services.ingest import IngestService
from backend.store import events as stored_events
from tests.backend.conftest import Api, open_api
from tests.support.events import T0, entry
from tests.support.postgres import PostgresServer
from tests.support.servers import BackendProcess


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    """The in-process app on a fresh database of the engine under test, with door-1 registered."""
    with open_api(database_url, tmp_path) as opened:
        yield opened


def _count(api: Api, table: str) -> int:
    db = connect(api.settings.database)
    try:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        db.conn.close()


def _batch(*events: object) -> dict[str, object]:
    return {"events": [json.loads(e.model_dump_json()) for e in events]}  # type: ignore[attr-defined]


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_replayed_batch_is_stored_once_and_reports_duplicates(api: Api) -> None:
    events = [entry(n=i) for i in range(5)]
    first = api.client.post("/api/v1/events", json=_batch(*events), headers=api.device)
    assert first.status_code == 200
    assert first.json()["accepted"] == [str(e.event_id) for e in events]
    replay = api.client.post("/api/v1/events", json=_batch(*events[2:], entry(n=9)), headers=api.device)
    assert replay.status_code == 200
    assert len(replay.json()["accepted"]) == 1
    assert replay.json()["duplicates"] == [str(e.event_id) for e in events[2:]]
    assert _count(api, "events") == 6


def test_same_id_twice_in_one_batch_is_one_row_and_reported(api: Api) -> None:
    event = entry()
    response = api.client.post("/api/v1/events", json=_batch(event, event), headers=api.device)
    assert response.json() == {"accepted": [str(event.event_id)], "duplicates": [], "repeated": [str(event.event_id)]}
    assert _count(api, "events") == 1


def _conflicts(api: Api) -> list[tuple[str, str, str]]:
    db = connect(api.settings.database)
    try:
        rows = db.execute("SELECT event_id, camera_id, offered_payload FROM event_conflicts ORDER BY conflict_id")
        return [tuple(r) for r in rows.fetchall()]
    finally:
        db.conn.close()


def test_a_reused_id_with_other_content_is_a_recorded_409(api: Api) -> None:
    original = entry(n=1)
    assert api.client.post("/api/v1/events", json=_batch(original), headers=api.device).status_code == 200
    changed = original.model_copy(update={"pupil_id": "p7"})
    other = entry(n=2)
    reply = api.client.post("/api/v1/events", json=_batch(other, changed), headers=api.device)
    assert reply.status_code == 409, reply.text
    body = reply.json()
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert str(original.event_id) in body["detail"] and body["rejected"][0]["event_id"] == str(original.event_id)
    assert _count(api, "events") == 1, "nothing of the refused batch is stored"
    recorded = _conflicts(api)
    assert [(r[0], r[1]) for r in recorded] == [(str(original.event_id), "door-1")]
    assert json.loads(recorded[0][2])["pupil_id"] == "p7", "the refused content is kept for a person to see"
    same = api.client.post("/api/v1/events", json=_batch(original, other), headers=api.device)
    assert same.status_code == 200 and same.json()["duplicates"] == [str(original.event_id)]


def test_two_different_events_with_one_id_in_a_batch_are_a_409_not_a_silent_drop(api: Api) -> None:
    first = entry(n=3)
    second = first.model_copy(update={"direction": "left"})
    reply = api.client.post("/api/v1/events", json=_batch(first, second), headers=api.device)
    assert reply.status_code == 409
    assert _count(api, "events") == 0 and len(_conflicts(api)) == 1


@pytest.mark.parametrize(
    ("captured_at", "says"),
    [
        ("2099-01-01T00:00:00+00:00", "after the receipt time"),
        ("1970-01-01T00:00:00+00:00", "older than"),
    ],
)
def test_capture_time_outside_the_skew_of_receipt_is_422_naming_the_event(
    api: Api, captured_at: str, says: str
) -> None:
    good = _batch(entry(n=4))["events"]
    bad = {**_batch(entry(n=5))["events"][0], "captured_at": captured_at}  # type: ignore[index]
    reply = api.client.post("/api/v1/events", json={"events": [*good, bad]}, headers=api.device)  # type: ignore[misc]
    assert reply.status_code == 422, reply.text
    assert says in reply.json()["detail"] and "clock" in reply.json()["detail"]
    assert [r["event_id"] for r in reply.json()["rejected"]] == [bad["event_id"]]
    assert _count(api, "events") == 0


def test_attachment_uploaded_then_referenced(api: Api) -> None:
    data = _jpeg()
    sha = hashlib.sha256(data).hexdigest()
    put = api.client.put(f"/api/v1/media/{sha}", content=data, headers={**api.device, "Content-Type": "image/jpeg"})
    assert put.status_code == 201
    again = api.client.put(f"/api/v1/media/{sha}", content=data, headers={**api.device, "Content-Type": "image/jpeg"})
    assert again.status_code == 200
    event = entry(
        attachments=[{"sha256": sha, "media_type": "image/jpeg", "role": "snapshot", "size_bytes": len(data)}]
    )
    assert api.client.post("/api/v1/events", json=_batch(event), headers=api.device).status_code == 200
    assert _count(api, "event_attachments") == 1
    got = api.client.get(f"/api/v1/media/{sha}", headers=api.admin)
    assert got.status_code == 200 and got.content == data


def test_revoked_key_is_refused_and_rotation_restores(api: Api) -> None:
    assert api.client.post("/api/v1/devices/door-1/revoke", headers=api.admin).status_code == 200
    refused = api.client.post("/api/v1/events", json=_batch(entry()), headers=api.device)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    rotated = api.client.post(
        "/api/v1/devices",
        json={"camera_id": "door-1", "kind": "school", "site": "school-1", "rotate": True},
        headers=api.admin,
    )
    assert rotated.status_code == 201
    new = {"X-API-Key": rotated.json()["api_key"]}
    assert api.client.post("/api/v1/events", json=_batch(entry()), headers=new).status_code == 200


def test_keys_are_stored_hashed(api: Api) -> None:
    db = connect(api.settings.database)
    try:
        stored = db.execute("SELECT key_id, key_hash FROM devices").fetchone()
    finally:
        db.conn.close()
    assert api.key.split("_", 2)[2] not in "".join(stored)
    assert stored[1] == hashlib.sha256(api.key.split("_", 2)[2].encode()).hexdigest()


def test_health_reports_schema_and_count(api: Api) -> None:
    api.client.post("/api/v1/events", json=_batch(entry(), entry(n=1)), headers=api.device)
    body = api.client.get("/api/v1/health").json()
    assert body["status"] == "ok" and body["events"] == 2 and body["schema_version"] >= 1


def test_plate_alert_is_accepted_and_stored(api: Api) -> None:
    from kuzet.contracts import PlateAlertEvent

    alert = PlateAlertEvent.model_validate(
        {
            **json.loads(entry().model_dump_json(include={"event_id", "camera_id", "captured_at", "clock_source"})),
            "plate_read": "123ABC02",
            "plate_listed": "123ABC02",
            "distance": 0,
            "reason": "stolen",
            "read_confidence": 0.9,
            "track_id": 4,
        }
    )
    response = api.client.post("/api/v1/events", json=_batch(alert), headers=api.device)
    assert response.status_code == 200 and response.json()["accepted"] == [str(alert.event_id)]
    db = connect(api.settings.database)
    try:
        assert db.execute("SELECT kind FROM events").fetchone()[0] == "plate_alert"
    finally:
        db.conn.close()


@pytest.mark.parametrize("db_engine", ["sqlite"], indirect=True)
def test_ingest_commits_to_disk_before_it_answers(tmp_path: Path, db_engine: str) -> None:
    """The ingest connection syncs every commit (synchronous=FULL); other connections stay NORMAL."""
    db = connect(tmp_path / "durable.sqlite")
    migrate(db)
    db.execute(
        "INSERT INTO devices(camera_id, kind, site, key_id, key_hash, created_at)"
        " VALUES ('door-1', 'school', 'school-1', 'k', 'h', 't')"
    )
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    result = IngestService().ingest(db, "door-1", [entry()])
    assert len(result.accepted) == 1
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    other = connect(tmp_path / "durable.sqlite")
    assert other.execute("PRAGMA synchronous").fetchone()[0] == 1
    other.conn.close()
    db.conn.close()


def test_two_requests_racing_with_one_batch_store_it_once(api: Api) -> None:
    """Two API workers receiving the same batch at once: each event is accepted by exactly one of them."""
    events = [entry(n=i) for i in range(200)]
    service = IngestService()
    start = threading.Barrier(2)
    results: list[set[str]] = [set(), set()]

    def post(i: int) -> None:
        db = connect(api.settings.database)
        try:
            start.wait(10)
            results[i] = {str(e) for e in service.ingest(db, "door-1", events).accepted}
        finally:
            db.conn.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results[0] | results[1] == {str(e.event_id) for e in events}
    assert not results[0] & results[1], "no event accepted twice"
    assert _count(api, "events") == len(events)


def test_events_of_each_capture_day_go_and_retention_drops_whole_days(api: Api, db_engine: str) -> None:
    days = [entry(n=i, captured_at=T0 + timedelta(days=i, hours=i)) for i in range(3)]
    reply = api.client.post("/api/v1/events", json=_batch(*days), headers=api.device)
    assert reply.status_code == 200 and len(reply.json()["accepted"]) == 3
    db = connect(api.settings.database)
    try:
        if db_engine == "postgresql":
            rows = db.execute("SELECT tableoid::regclass::text, event_id FROM events ORDER BY captured_at").fetchall()
            assert [r[0] for r in rows] == ["events_d20260901", "events_d20260902", "events_d20260903"]
        with transaction(db) as conn:
            assert stored_events.purge_before(conn, "2026-09-03") == 2
        assert _count(api, "events") == 1 and _count(api, "unknown_faces") == 1, "rows about a purged event go too"
        again = api.client.post("/api/v1/events", json=_batch(days[2]), headers=api.device)
        assert again.json()["duplicates"] == [str(days[2].event_id)], "the kept day is still idempotent"
        if db_engine == "postgresql":
            names = {r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'events_d%'")}
            assert names >= {"events_d20260903"} and not names & {"events_d20260901", "events_d20260902"}
    finally:
        db.conn.close()


def test_api_process_sigkilled_mid_stream_on_postgresql_loses_and_doubles_nothing(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """A device's uplink streams 500 events to ``kuzet serve`` on PostgreSQL; the API process is SIGKILLed mid-stream
    (requests in flight die with it) and restarted: every event is stored exactly once."""
    from edge.config import UplinkConfig
    from edge.spool import Spool
    from edge.uplink import Uploader

    url = postgres_server.create_database("stream", migrated=True)
    backend = BackendProcess(tmp_path / "backend")
    config = yaml.safe_load(backend.config.read_text())
    backend.config.write_text(yaml.safe_dump({**config, "database": {"url": url}}))
    backend.start()
    spool = Spool(tmp_path / "edge" / "spool.sqlite")
    uplink = {"backend_url": backend.url, "api_key": backend.register("door-1"), "batch_size": 50}
    uploader = Uploader(spool, UplinkConfig.model_validate({**uplink, "backoff_initial_s": 0.05, "backoff_max_s": 0.5,
                                                           "timeout_s": 5.0, "idle_poll_s": 0.02}))  # fmt: skip
    stop = threading.Event()
    worker = threading.Thread(target=uploader.run, args=(stop,))
    worker.start()
    try:
        for i in range(500):
            spool.put(entry(n=i))
            if i == 250:
                backend.kill()
                backend.start()
        deadline = time.monotonic() + 60
        while spool.depth() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(10)
        backend.stop()
    db = connect(url)
    try:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM events").fetchone() == (500, 500)
        assert db.execute("SELECT COUNT(*) FROM event_ids").fetchone() == (500,)
    finally:
        db.conn.close()


def test_two_processes_deriving_one_pupil_day_at_once_count_both_passes(api: Api) -> None:
    """Entry and exit of one pupil-day arriving at two API workers at the same moment: the derived day has both (on
    PostgreSQL the second derivation waits for the first; SQLite admits one writer)."""
    from backend.store import schools
    from backend.store.schools import Pupil

    db = connect(api.settings.database)
    with transaction(db) as conn:
        assert schools.insert_school(conn, "school-1", "School One", T0.isoformat())
        for n in range(5):
            assert schools.insert_pupil(conn, Pupil(f"q{n}", f"Pupil {n}", None, "school-1"), T0.isoformat())
    service = create_app(api.settings).state.services.ingest
    for n in range(5):
        pair = [entry(n=n, pupil_id=f"q{n}", direction="entered"),
                entry(n=n + 3600, pupil_id=f"q{n}", direction="left")]  # fmt: skip
        together = threading.Barrier(2)

        def post(event: object, together: threading.Barrier) -> None:
            own = connect(api.settings.database)
            try:
                together.wait(10)
                service.ingest(own, "door-1", [event])  # type: ignore[list-item]
            finally:
                own.conn.close()

        threads = [threading.Thread(target=post, args=(e, together)) for e in pair]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    rows = db.execute("SELECT pupil_id, state, passes FROM attendance ORDER BY pupil_id").fetchall()
    db.conn.close()
    assert [tuple(r) for r in rows] == [(f"q{n}", "left", 2) for n in range(5)]


def test_the_retention_purge_deletes_events_older_than_the_setting(api: Api) -> None:
    from backend.services.school_app import run_purge

    days = [entry(n=i, captured_at=T0 + timedelta(days=i)) for i in range(4)]
    assert api.client.post("/api/v1/events", json=_batch(*days), headers=api.device).status_code == 200
    kept = api.settings.model_copy(update={"database": api.settings.database.model_copy()})
    run_purge(kept, now=T0 + timedelta(days=10))
    assert _count(api, "events") == 4, "event_retention_days 0 keeps every event"
    database = api.settings.database.model_copy(update={"event_retention_days": 8})
    run_purge(api.settings.model_copy(update={"database": database}), now=T0 + timedelta(days=10))
    assert _count(api, "events") == 2, "the days before 2026-09-03 went"
