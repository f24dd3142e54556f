"""Batch ingest throughput over real HTTP (every built-in handler on) against single-event requests, on SQLite and
PostgreSQL, and the handlers' cost against ingest without handlers, each in the same run."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.events import entry
from tests.support.postgres import PostgresServer
from tests.support.servers import BackendProcess

BATCH = 500
PER_ROUND = 10_000
BASELINE_EVENTS = 400


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[BackendProcess, str]]:
    backend = BackendProcess(Path(tmp_path_factory.mktemp("bench-backend")))
    if request.param == "postgresql":  # the same settings file, pointed at a new PostgreSQL database
        postgres: PostgresServer = request.getfixturevalue("postgres_server")
        config = yaml.safe_load(backend.config.read_text())
        backend.config.write_text(yaml.safe_dump({**config, "database": {"url": postgres.create_database("bench")}}))
    backend.start()
    backend.engine = request.param  # type: ignore[attr-defined]
    yield backend, backend.register("door-1")
    backend.stop()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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

        assert backend.proc is not None
        cpu_before = _cpu_seconds(backend.proc.pid)
        benchmark.pedantic(ingest_round, rounds=3, iterations=1, warmup_rounds=0)
        per_cpu_s = 3 * PER_ROUND / (_cpu_seconds(backend.proc.pid) - cpu_before)
    batch_rate = PER_ROUND / benchmark.stats.stats.mean
    ratio = batch_rate / single_rate
    benchmark.extra_info.update(single_events_per_s=single_rate, batch_events_per_s=batch_rate, ratio=ratio)
    report.append(
        f"ingest over HTTP, {backend.engine}, handlers on: batch of {BATCH} = {batch_rate:,.0f} events/s sustained over"  # type: ignore[attr-defined]
        f" {PER_ROUND:,}/round ({per_cpu_s:,.0f} events per CPU-second of the API process, which is what one free"
        f" core sustains); single-event requests = {single_rate:,.0f} events/s; ratio {ratio:.1f}x"
    )
    assert batch_rate > single_rate


def test_service_batch_vs_single_row_inserts(benchmark, tmp_path: Path, report: list[str]) -> None:  # type: ignore[no-untyped-def]
    """The same comparison without HTTP: one transaction per 500 events against one per event."""
    from backend.services.ingest import IngestService

    db = _service_db(tmp_path / "svc.sqlite")
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


def _service_db(path: Path):  # type: ignore[no-untyped-def]
    from backend.db import connect, migrate

    db = connect(path)
    migrate(db)
    db.execute(
        "INSERT INTO devices(camera_id, kind, site, key_id, key_hash, created_at)"
        " VALUES ('door-1', 'school', 'school-1', 'k', 'h', 't')"
    )
    return db


def test_service_handlers_cost(benchmark, tmp_path: Path, report: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Batches of 500 through every built-in handler (attendance, violations, camera health) against the same batches
    stored with no handler, rounds interleaved: what the set-based handlers cost per event."""
    import base64
    import secrets

    from backend.app import create_app
    from backend.services.ingest import IngestService
    from backend.settings import Settings

    settings = Settings(
        database=tmp_path / "on.sqlite",
        media_dir=tmp_path / "media",
        admin_token=secrets.token_hex(20),
        template_key=base64.b64encode(secrets.token_bytes(32)).decode(),
    )
    with_handlers = create_app(settings).state.services.ingest
    dbs = {"on": _service_db(tmp_path / "on.sqlite"), "off": _service_db(tmp_path / "off.sqlite")}
    services = {"on": with_handlers, "off": IngestService()}
    seconds = {"on": 0.0, "off": 0.0}

    def interleaved() -> None:
        for r in range(3):
            events = [entry(n=r * PER_ROUND + i) for i in range(PER_ROUND)]
            for name in ("off", "on"):
                start = time.perf_counter()
                for i in range(0, PER_ROUND, BATCH):
                    services[name].ingest(dbs[name], "door-1", events[i : i + BATCH])
                seconds[name] += time.perf_counter() - start

    benchmark.pedantic(interleaved, rounds=1, iterations=1)
    on, off = 3 * PER_ROUND / seconds["on"], 3 * PER_ROUND / seconds["off"]
    report.append(
        f"ingest service, handlers on {on:,.0f} events/s vs no handlers {off:,.0f} events/s (same batches,"
        f" interleaved): the handlers keep {on / off:.0%} of the storage-only rate"
    )
    assert on > 0.25 * off, "the per-batch handlers cost at most 3x the storage itself"
