"""``kuzet loadtest --floor``: each stripped piece does the real work it claims (so its CPU figure means something)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kuzet.city import floor
from kuzet.city.floorapp import create_app
from kuzet.city.postgres import postgres_bin


@pytest.mark.parametrize("events", [floor.EVENTS_PER_REQUEST, floor.BIG_REQUEST])
def test_the_stripped_route_parses_real_door_requests_into_the_wire_batch(events: int) -> None:
    body = floor._door_bodies(1, events)[0]
    sent = [e["event_id"] for e in json.loads(body)["events"]]
    with TestClient(create_app()) as client:
        answer = client.post("/api/v1/events", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 200
        assert answer.json()["accepted"] == sent
        broken = json.loads(body)
        broken["events"][0]["captured_at"] = "not a time"
        assert client.post("/api/v1/events", json=broken).status_code == 422


def test_http_floor_serves_every_request_through_uvicorn() -> None:
    measured = floor.http_floor(16, threads=2)
    assert measured["requests"] == 16
    assert measured["server_ms"] >= 0 and measured["client_ms"] > 0


def test_smtp_floor_has_every_message_accepted_by_the_load_tests_server(tmp_path: Path) -> None:
    measured = floor.smtp_floor(tmp_path, 20)
    assert measured["accepted"] == 21  # the warm-up message and the 20 measured


def test_postgres_floor_writes_every_event_and_pass(tmp_path: Path) -> None:
    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; `make services` does it)")
    measured = floor.postgres_floor(tmp_path, 10, events=3)
    assert measured["rows"] == 30
