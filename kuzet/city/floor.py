"""``kuzet loadtest --floor``: the least CPU any implementation of the load test's path can spend per event here.

Each piece of the path an entry event takes is measured alone, stripped to what cannot be left out, with the CPU of
the processes doing it read from ``/proc``:

- **HTTP**: a uvicorn + FastAPI process whose one route parses a real door request (the plan's 2 entry events) into
  the wire ``EventBatch`` and answers; no key check, no database, no logging. Keep-alive connections from 8 threads.
- **PostgreSQL**: the writes an entry cannot do without (its event row, its pass, its outbox message), set-based, one
  transaction per door request, durable settings as in the city setup; the server's CPU only.
- **SMTP**: one parent message, built once, sent over one kept-open ``smtplib`` session to the load test's own SMTP
  server process; the client's CPU and the server's.
- **Load generator**: the HTTP client threads of the first piece (the cheapest client Python offers).

The sum times the target rate, against the cores this machine has, says whether the target can be reached by any
code on this machine, before the work the real handlers add (key check, attendance, templates, fan-out, NATS).
"""

from __future__ import annotations

import http.client
import os
import smtplib
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from email.mime.text import MIMEText
from pathlib import Path
from typing import Any

from kuzet.city.loadgen import LoadPlan, plan_batches
from kuzet.city.loadtest import cpu_seconds, smtp_sink
from kuzet.city.nats import free_port
from kuzet.city.postgres import LocalPostgres

EVENTS_PER_REQUEST = 2  # the plan's door request (LoadPlan.door_batches over a door's morning)
BIG_REQUEST = 100  # the most a door could gather: a bound for any batching
FLOOR_SCHEMA = (
    "CREATE TABLE floor_events (event_id UUID PRIMARY KEY, camera_id TEXT NOT NULL, captured_at TIMESTAMPTZ NOT NULL,"
    " body TEXT NOT NULL)",
    "CREATE TABLE floor_passes (event_id UUID PRIMARY KEY, pupil_id TEXT NOT NULL, at TIMESTAMPTZ NOT NULL)",
    "CREATE TABLE floor_outbox (id BIGSERIAL PRIMARY KEY, dedupe_key TEXT UNIQUE NOT NULL, recipient TEXT NOT NULL,"
    " body TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending')",
)
FLOOR_WRITES = (
    "INSERT INTO floor_events SELECT * FROM unnest(%(ids)s::uuid[], %(cams)s::text[], %(ats)s::timestamptz[],"
    " %(bodies)s::text[]) ON CONFLICT DO NOTHING RETURNING event_id",
    "INSERT INTO floor_passes SELECT * FROM unnest(%(ids)s::uuid[], %(pupils)s::text[], %(ats)s::timestamptz[])",
    "INSERT INTO floor_outbox (dedupe_key, recipient, body) SELECT * FROM unnest(%(keys)s::text[], %(rcpts)s::text[],"
    " %(texts)s::text[])",
)


def _door_bodies(count: int, events: int) -> list[bytes]:
    """Real door requests of the load plan carrying ``events`` entries each."""
    plan = LoadPlan(rate=1000, duration_s=10, doors=10_000 // (4 * events), traffic_share=0.0)  # 4 requests a door
    bodies = [b.body for b in plan_batches(plan, datetime.now(UTC)) if b.events == events]
    return bodies[:count]


def http_floor(requests: int, events: int = EVENTS_PER_REQUEST, threads: int = 8) -> dict[str, float]:
    """Server and client CPU-ms per request of ``events`` entries to the stripped uvicorn + FastAPI ingest route."""
    bodies, port = _door_bodies(200, events), free_port()
    app = [sys.executable, "-m", "uvicorn", "kuzet.city.floorapp:create_app", "--factory", "--port", str(port),
           "--log-level", "warning", "--no-access-log"]  # fmt: skip
    server = subprocess.Popen(app)
    try:
        _wait_http(port)

        def client(offset: int, count: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for i in range(count):
                conn.request("POST", "/api/v1/events", bodies[(offset + i) % len(bodies)],
                             {"Content-Type": "application/json"})  # fmt: skip
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"floor app answered {response.status}")
            conn.close()

        client(0, 50)  # warm up imports and the route
        per_thread = max(1, requests // threads)
        cpu0, own0 = cpu_seconds([server.pid]), time.process_time()
        workers = [threading.Thread(target=client, args=(k, per_thread)) for k in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        done = per_thread * threads
        return {"server_ms": 1000 * (cpu_seconds([server.pid]) - cpu0) / done,
                "client_ms": 1000 * (time.process_time() - own0) / done, "requests": done}  # fmt: skip
    finally:
        server.terminate()
        server.wait(10)


def _wait_http(port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/health")
            conn.getresponse().read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def postgres_floor(root: Path, requests: int, events: int = EVENTS_PER_REQUEST) -> dict[str, float]:
    """PostgreSQL's CPU-ms per door request of ``events`` entries for the rows an entry cannot do without."""
    import psycopg

    server = LocalPostgres(root / "pg").start()
    try:
        with psycopg.connect(server.fresh_database("kuzet_floor")) as conn:
            for statement in FLOOR_SCHEMA:
                conn.execute(statement)
            conn.commit()
            postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
            cpu0 = cpu_seconds([postmaster])
            for n in range(requests):
                rows = _floor_rows(n, events)
                with conn.transaction():
                    for statement in FLOOR_WRITES:
                        conn.execute(statement, rows)
            server_ms = 1000 * (cpu_seconds([postmaster]) - cpu0) / requests
            row = conn.execute("SELECT count(*) FROM floor_events JOIN floor_passes USING (event_id)").fetchone()
            return {"server_ms": server_ms, "requests": requests, "rows": row[0] if row else 0}
    finally:
        server.stop()


def _floor_rows(n: int, events: int) -> dict[str, list[Any]]:
    ids = [uuid.uuid4() for _ in range(events)]
    return {"ids": ids, "cams": [f"door-{n}"] * events, "ats": [datetime.now(UTC)] * events,
            "bodies": ['{"kind":"entry"}'] * events, "pupils": [f"p{n}-{i}" for i in range(events)],
            "keys": [f"{i}:email" for i in ids], "rcpts": [f"p{n}@load.kz"] * events,
            "texts": ["Aruzhan мектепке 07:52-де кірді"] * events}  # fmt: skip


def smtp_floor(root: Path, messages: int) -> dict[str, float]:
    """Client and server CPU-ms per parent message over one kept-open session to the load test's SMTP server."""
    root.mkdir(parents=True, exist_ok=True)
    message = MIMEText("Aruzhan мектепке 07:52-де кірді", "plain", "utf-8")
    message["Subject"], message["From"], message["To"] = "Kuzet", "kuzet@load.kz", "parent@load.kz"
    payload = message.as_bytes()
    with smtp_sink(root) as (port, log, sink), smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail("kuzet@load.kz", ["parent@load.kz"], payload)
        cpu0, own0 = cpu_seconds([sink.pid]), time.process_time()
        for _ in range(messages):
            client.sendmail("kuzet@load.kz", ["parent@load.kz"], payload)
        measured = {"server_ms": 1000 * (cpu_seconds([sink.pid]) - cpu0) / messages,
                    "client_ms": 1000 * (time.process_time() - own0) / messages, "messages": messages}  # fmt: skip
    measured["accepted"] = len(log.read_text(encoding="utf-8").splitlines())  # the sink flushed at its stop
    return measured


def _per_event(web: dict[str, float], database: dict[str, float], mail: dict[str, float], events: int,
               entry_share: float) -> dict[str, float]:  # fmt: skip
    return {
        "http server (FastAPI + uvicorn, parse only)": web["server_ms"] / events,
        "postgresql (event, pass, outbox rows)": database["server_ms"] / events,
        "smtp client (one kept-open session)": mail["client_ms"] * entry_share,
        "smtp server (the load test's)": mail["server_ms"] * entry_share,
        "load generator (http.client threads)": web["client_ms"] / events,
    }


def run(out: Path, rate: float = 4000.0, entry_share: float = 0.85, scale: int = 3000) -> dict[str, Any]:
    """Measure every piece (``scale`` door requests or messages each; a tenth as many requests of ``BIG_REQUEST``
    events) and add them up per event at ``rate``, for the plan's door request and for the big one."""
    mail = smtp_floor(out / "floor", scale)
    cores = os.cpu_count() or 1
    report: dict[str, Any] = {"rate": rate, "entry_share": entry_share, "cores": cores, "smtp": mail}
    for events, requests in ((EVENTS_PER_REQUEST, scale), (BIG_REQUEST, max(1, scale // 10))):
        web, database = http_floor(requests, events), postgres_floor(out / "floor", requests, events)
        per_event = _per_event(web, database, mail, events, entry_share)
        total = sum(per_event.values())
        harness = per_event["smtp server (the load test's)"] + per_event["load generator (http.client threads)"]
        report[f"{events}_events_per_request"] = {
            "cpu_ms_per_event": {k: round(v, 4) for k, v in per_event.items()},
            "total_cpu_ms_per_event": round(total, 4),
            "cores_needed_at_rate": round(total * rate / 1000, 2),
            "kuzet_side_cores_needed_at_rate": round((total - harness) * rate / 1000, 2),
            "max_events_per_s_on_this_machine": round(cores * 1000 / total),
            "raw": {"http": web, "postgresql": database},
        }  # fmt: skip
    return report
