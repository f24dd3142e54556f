"""Batch ingest throughput over real HTTP against single-event requests, in the same run."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.events import entry
from tests.support.servers import BackendProcess

BATCH = 500
PER_ROUND = 10_000
BASELINE_EVENTS = 400


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BackendProcess, str]]:
    backend = BackendProcess(Path(tmp_path_factory.mktemp("bench-backend")))
    backend.start()
    yield backend, backend.register("door-1")
    backend.stop()


def _bodies(n: int, batch: int) -> list[bytes]:
    events = [json.loads(entry(n=i).model_dump_json()) for i in range(n)]
    return [json.dumps({"events": events[i : i + batch]}).encode() for i in range(0, n, batch)]


def test_batch_ingest_vs_single_row(benchmark, server: tuple[BackendProcess, str], report: list[str]) -> None:  # type: ignore[no-untyped-def]
    backend, key = server
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    with httpx.Client(base_url=backend.url, headers=headers, timeout=30) as client:
        singles = _bodies(BASELINE_EVENTS, 1)
        start = time.perf_counter()
        for body in singles:
            client.post("/api/v1/events", content=body).raise_for_status()
        single_rate = BASELINE_EVENTS / (time.perf_counter() - start)

        def ingest_round() -> None:
            for body in _bodies(PER_ROUND, BATCH):
                response = client.post("/api/v1/events", content=body)
                response.raise_for_status()
                assert len(response.json()["accepted"]) == BATCH

        benchmark.pedantic(ingest_round, rounds=3, iterations=1, warmup_rounds=0)
    batch_rate = PER_ROUND / benchmark.stats.stats.mean
    ratio = batch_rate / single_rate
    benchmark.extra_info.update(single_events_per_s=single_rate, batch_events_per_s=batch_rate, ratio=ratio)
    report.append(
        f"ingest: batch of {BATCH} = {batch_rate:,.0f} events/s sustained over {PER_ROUND:,}/round; "
        f"single-event requests = {single_rate:,.0f} events/s; ratio {ratio:.1f}x"
    )
    assert batch_rate > single_rate


def test_service_batch_vs_single_row_inserts(benchmark, tmp_path: Path, report: list[str]) -> None:  # type: ignore[no-untyped-def]
    """The same comparison without HTTP: one transaction per 500 events against one per event."""
    from backend.db import connect, migrate
    from backend.services.ingest import IngestService

    db = connect(tmp_path / "svc.sqlite")
    migrate(db)
    db.execute(
        "INSERT INTO devices(camera_id, kind, site, key_id, key_hash, created_at)"
        " VALUES ('door-1', 'school', 's', 'k', 'h', 't')"
    )
    service = IngestService()
    singles = [entry(n=i) for i in range(BASELINE_EVENTS)]
    start = time.perf_counter()
    for event in singles:
        service.ingest(db, "door-1", [event])
    single_rate = BASELINE_EVENTS / (time.perf_counter() - start)

    def ingest_round() -> None:
        events = [entry(n=i) for i in range(PER_ROUND)]
        for i in range(0, PER_ROUND, BATCH):
            service.ingest(db, "door-1", events[i : i + BATCH])

    benchmark.pedantic(ingest_round, rounds=3, iterations=1)
    batch_rate = PER_ROUND / benchmark.stats.stats.mean
    report.append(
        f"ingest service (no HTTP, event construction included): batch {batch_rate:,.0f} events/s vs single-row "
        f"transactions {single_rate:,.0f} events/s; ratio {batch_rate / single_rate:.1f}x"
    )
    assert batch_rate > single_rate
