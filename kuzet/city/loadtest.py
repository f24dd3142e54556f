"""``kuzet loadtest``: the same generated load against the city setup and against one SQLite process, in one run.

Each target gets a fresh database seeded with the plan's schools, doors, pupils and guardians, and its own local SMTP
server (``smtpsink``, a separate process recording when each message was accepted). The sender posts the planned
batches at the planned rate; afterwards the run waits for every parent message. Figures (``loadreport``): sustained
events/s, ingest latency p50/p95 (request start to acknowledgement, per event), ingest-to-SMTP p95 (request start to
the SMTP server's acceptance of that pass's message), CPU-seconds of the serving processes per 1,000 events, plots
over time and a paper sizing, written to ``out`` (``var/loadtest``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from backend.db import connect
from kuzet.city.faults import kill_during_stream
from kuzet.city.loadgen import LoadPlan, plan_batches, seed, send
from kuzet.city.loadreport import Measured, measure, plot, sizing
from kuzet.city.nats import free_port
from kuzet.city.stack import Child, CityStack
from notifications import outbox

logger = logging.getLogger(__name__)
WORKER = {"concurrency": 32, "batch_size": 200, "poll_interval_s": 0.05}


@contextlib.contextmanager
def smtp_sink(out: Path) -> Iterator[tuple[int, Path, subprocess.Popen[bytes]]]:
    """The SMTP server process; yields (port, its acceptance log, the process)."""
    port, log = free_port(), out / "smtp.tsv"
    log.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "kuzet.city.smtpsink", str(port), str(log)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
        time.sleep(0.05)
    try:
        yield port, log, proc
    finally:
        proc.terminate()
        proc.wait(10)


def _proc_stats() -> dict[int, tuple[int, float]]:
    """(parent pid, CPU seconds) of every process, from ``/proc`` (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    return stats


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) so far of these processes and their descendants."""
    stats = _proc_stats()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    seen: set[int] = set()
    todo = [p for p in pids if p in stats]
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo += children.get(pid, [])
    return sum(stats[pid][1] for pid in seen)


def _notifications(port: int) -> dict[str, Any]:
    return {"smtp": {"host": "127.0.0.1", "port": port, "sender": "kuzet@load.kz", "starttls": False}, "worker": WORKER}


def _drive(
    name: str, urls: list[str], database: object, roles: dict[str, list[int]], plan: LoadPlan, smtp_log: Path
) -> Measured:
    """Seed, send, wait for the messages, measure (the target is running). ``roles``: the serving processes by
    role (API, workers, PostgreSQL, NATS, SMTP server); their CPU is the target's, the generator's own (this
    process, 24 sending threads) is reported beside it as ``load generator`` and not counted."""
    started = time.monotonic()
    keys = seed(database, plan)
    logger.info("%s: seeded %d cameras in %.0f s", name, len(keys), time.monotonic() - started)
    batches = plan_batches(plan, datetime.now(UTC))
    cpu0 = {role: cpu_seconds(pids) for role, pids in roles.items()}
    own0 = time.process_time()
    sent = send(batches, urls, keys, give_up_s=3 * plan.duration_s)
    deadline = time.monotonic() + max(60.0, plan.duration_s)
    while time.monotonic() < deadline and _undelivered(database):
        time.sleep(0.5)
    time.sleep(1.5)  # the SMTP server flushes its acceptance log every 0.5 s
    by_role = {role: cpu_seconds(pids) - cpu0[role] for role, pids in roles.items()}
    measured = measure(name, sent, smtp_log, sum(by_role.values()), plan)
    measured.cpu_by_process = {**by_role, "load generator (not counted)": time.process_time() - own0}
    measured.outbox = _outbox(database)
    return measured


def _outbox(database: object) -> dict[str, int]:
    db = connect(database)  # type: ignore[arg-type]
    try:
        return outbox.counts(db.conn)
    finally:
        db.conn.close()


def _undelivered(database: object) -> int:
    counts = _outbox(database)
    return counts["pending"] + counts["sending"]


def run_sqlite(out: Path, plan: LoadPlan) -> Measured:
    """One ``kuzet serve`` on a SQLite file with the outbox worker in the process."""
    root = out / "sqlite"
    root.mkdir(parents=True, exist_ok=True)
    (root / "k.sqlite").unlink(missing_ok=True)
    with smtp_sink(root) as (smtp_port, smtp_log, sink):
        port = free_port()
        notifications = {**_notifications(smtp_port), "run_in_backend": True}
        raw = {
            "database": str(root / "k.sqlite"), "media_dir": str(root / "media"),
            "admin_token": secrets.token_hex(24), "template_key": base64.b64encode(os.urandom(32)).decode(),
            "notifications": notifications, "school": {"purge_interval_s": 0},
        }  # fmt: skip
        config = root / "backend.yaml"
        config.write_text(yaml.safe_dump(raw), encoding="utf-8")
        seed(root / "k.sqlite", LoadPlan(doors=0, traffic_cameras=0))  # migrate before the server starts
        api = Child("sqlite-api", ["serve", "--config", str(config), "--port", str(port)], root / "api.log").start()
        try:
            url = f"http://127.0.0.1:{port}"
            CityStack.wait_healthy(api, url)
            roles = {"api + worker": [api.pid], "smtp server": [sink.pid]}
            return _drive("sqlite", [url], root / "k.sqlite", roles, plan, smtp_log)
        finally:
            api.stop()


def run_city(out: Path, plan: LoadPlan, faults: bool = True) -> Measured:
    """The city setup: two API processes, PostgreSQL, NATS, S3, two workers; then the fault run unless not
    ``faults``."""
    root = out / "city"
    with smtp_sink(out) as (smtp_port, smtp_log, sink), CityStack(root, _notifications(smtp_port)) as city:
        assert city.settings is not None
        roles = {
            "api": [c.pid for c in city.apis],
            "notify workers": [c.pid for c in city.workers],
            "postgresql": [_postmaster(city)],
            "nats": [city.nats.proc.pid] if city.nats.proc is not None else [],
            "smtp server": [sink.pid],
        }
        measured = _drive("city", city.api_urls, city.settings.database, roles, plan, smtp_log)
        if not faults:
            return measured
        try:
            measured.faults = kill_during_stream(city, events=5000, kills=2)  # the suite runs 1,000
        except (RuntimeError, OSError) as exc:  # the load figures stand; the report says the fault run failed
            logger.exception("city: the fault run failed")
            measured.faults = {"error": f"{type(exc).__name__}: {exc}"}
        return measured


def _postmaster(city: CityStack) -> int:
    pid_file = city.postgres.data / "postmaster.pid"
    return int(pid_file.read_text().split()[0]) if pid_file.exists() else 0


def run(
    out: Path, plan: LoadPlan, targets: tuple[str, ...] = ("city", "sqlite"), faults: bool = True
) -> dict[str, Any]:
    """Run each target in turn (the city's fault run unless not ``faults``), write ``report.json``, the plots and
    the sizing; returns the report."""
    out = out.resolve()  # the settings files name absolute paths (relative ones resolve against the file's folder)
    out.mkdir(parents=True, exist_ok=True)
    results = [run_city(out, plan, faults) if name == "city" else run_sqlite(out, plan) for name in targets]
    report: dict[str, Any] = {"plan": asdict(plan), "targets": {m.name: m.summary() for m in results}}
    if {"city", "sqlite"} <= set(report["targets"]):
        city, single = report["targets"]["city"], report["targets"]["sqlite"]
        report["city_to_sqlite"] = round(city["events_per_s"] / max(single["events_per_s"], 1e-9), 2)
    report["sizing"] = sizing(report["targets"])
    plot(results, out)
    (out / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report
