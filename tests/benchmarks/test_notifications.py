"""Event ingest -> parent e-mail accepted by a local SMTP server: p50/p95 over 1,000 events from 20 schools.

The whole real path: ``kuzet serve`` as a subprocess (HTTP ingest, attendance handler writing outbox rows in the
ingest transaction), the outbox worker as a second subprocess (``kuzet notify``), and aiosmtpd in this process.
Latency of one event = SMTP DATA accepted for its guardian - the moment its POST started. Ours (the configured
worker: 8 parallel sends) against a baseline in the same run: the same worker sending one message at a time.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kuzet.contracts import EventBatch
from tests.backend.conftest import TEMPLATE_KEY
from tests.notifications.servers import SmtpServer
from tests.support.events import T0, entry
from tests.support.servers import BackendProcess

SCHOOLS = 20
PUPILS = 50  # per school: 1,000 events, one pass per pupil
TARGET_P95_S = 2.0
PASSWORD = "correct horse battery"


def _ok(reply: httpx.Response) -> httpx.Response:
    assert reply.status_code in (200, 201, 204), reply.text
    return reply


def _build_school(client: httpx.Client, admin_token: str, n: int) -> str:
    sid = f"bench-{n:02d}"
    admin = {"Authorization": f"Bearer {admin_token}"}
    _ok(client.post("/api/v1/schools", json={"school_id": sid, "name": sid}, headers=admin))
    device = {"camera_id": f"{sid}-door", "kind": "school", "site": sid}
    key = _ok(client.post("/api/v1/devices", json=device, headers=admin)).json()["api_key"]
    user = {"username": f"{sid}-admin", "password": PASSWORD, "role": "school_admin", "email": f"{sid}@s.kz"}
    _ok(client.post(f"/api/v1/schools/{sid}/users", json=user, headers=admin))
    login = _ok(client.post("/api/v1/auth/login", json={"username": f"{sid}-admin", "password": PASSWORD}))
    client.cookies.clear()
    head = {"Authorization": f"Bearer {login.json()['token']}"}
    body = {"class_id": f"{sid}-5a", "name": "5A", "start_time": "08:30"}
    _ok(client.post(f"/api/v1/schools/{sid}/classes", json=body, headers=head))
    for p in range(PUPILS):
        pid, gid = f"{sid}-p{p}", f"{sid}-g{p}"
        body = {"pupil_id": pid, "name": f"Pupil {p}", "class_id": f"{sid}-5a"}
        _ok(client.post(f"/api/v1/schools/{sid}/pupils", json=body, headers=head))
        body = {"guardian_id": gid, "name": gid, "language": "en", "channel": "email", "address": f"{gid}@example.kz"}
        _ok(client.post(f"/api/v1/schools/{sid}/guardians", json=body, headers=head))
        _ok(client.put(f"/api/v1/schools/{sid}/guardians/{gid}/pupils/{pid}", headers=head))
    return key


class Rig:
    """Backend subprocess with 20 schools, the local SMTP server, and a worker subprocess per measured run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.smtp = SmtpServer().start()
        self.backend = BackendProcess(root)
        self.settings: dict[str, Any] = yaml.safe_load(self.backend.config.read_text())
        self.settings["school"] = {"purge_interval_s": 0}
        self.settings["template_key"] = TEMPLATE_KEY
        self.backend.config.write_text(yaml.safe_dump(self.settings))
        self.backend.start(timeout=120)
        with httpx.Client(base_url=self.backend.url, timeout=30) as client:
            self.keys = [_build_school(client, self.backend.admin_token, n) for n in range(SCHOOLS)]

    def worker(self, worker: dict[str, Any]) -> subprocess.Popen[bytes]:
        smtp = {"host": "127.0.0.1", "port": self.smtp.port, "sender": "kuzet@school.kz", "starttls": False}
        config = self.root / f"notify-{worker.get('concurrency', 'default')}.yaml"
        config.write_text(yaml.safe_dump({**self.settings, "notifications": {"smtp": smtp, "worker": worker}}))
        code = "import sys; from kuzet.commands.notify import notify; notify(sys.argv[1:])"
        return subprocess.Popen(
            [sys.executable, "-c", code, "--config", str(config)],
            stderr=open(self.root / "notify.log", "ab"),
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def run(self, direction: str, hours: int, worker: dict[str, Any]) -> tuple[list[float], float]:
        """Ingest one pass per pupil (round-robin over the doors); (latencies in seconds, ingest events/s)."""
        self.smtp.received.clear()
        process = self.worker(worker)
        time.sleep(1.0)  # worker started and idle
        started: dict[str, float] = {}
        begin = time.perf_counter()
        with httpx.Client(base_url=self.backend.url, timeout=30) as client:
            for p in range(PUPILS):
                for n, key in enumerate(self.keys):
                    sid = f"bench-{n:02d}"
                    event = entry(
                        f"{sid}-door",
                        n=p,
                        school_id=sid,
                        pupil_id=f"{sid}-p{p}",
                        direction=direction,
                        captured_at=T0 + timedelta(hours=hours, seconds=p),
                    )
                    body = EventBatch(events=(event,)).model_dump(mode="json")
                    started[f"{sid}-g{p}@example.kz"] = time.perf_counter()
                    _ok(client.post("/api/v1/events", json=body, headers={"X-API-Key": key}))
        rate = len(started) / (time.perf_counter() - begin)
        deadline = time.monotonic() + 120
        while len(self.smtp.received) < len(started) and time.monotonic() < deadline:
            time.sleep(0.05)
        process.terminate()
        process.wait(20)
        got = {r.recipient: r.at for r in self.smtp.received}
        assert len(self.smtp.received) == len(started) == SCHOOLS * PUPILS, "every guardian gets exactly one message"
        return [got[who] - t0 for who, t0 in started.items()], rate

    def close(self) -> None:
        self.backend.stop()
        self.smtp.stop()


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    made = Rig(Path(tmp_path_factory.mktemp("bench-notify")))
    yield made
    made.close()


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def test_ingest_to_smtp_latency(benchmark, rig: Rig, report: list[str]) -> None:  # type: ignore[no-untyped-def]
    baseline, _ = rig.run("entered", 0, {"concurrency": 1, "batch_size": 1})
    ours: list[float] = []
    rates: list[float] = []

    def measured() -> None:
        latencies, rate = rig.run("left", 8, {})
        ours.extend(latencies)
        rates.append(rate)

    benchmark.pedantic(measured, rounds=1, iterations=1, warmup_rounds=0)
    p50, p95 = _p(ours, 50), _p(ours, 95)
    b50, b95 = _p(baseline, 50), _p(baseline, 95)
    benchmark.extra_info.update(p50_s=p50, p95_s=p95, baseline_p50_s=b50, baseline_p95_s=b95, ratio_p95=b95 / p95)
    report.append(
        f"notifications: event ingest -> SMTP accepted over {len(ours)} events, {SCHOOLS} schools, "
        f"ingested at {rates[0]:.0f} events/s (one event per POST): "
        f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (target p95 <= {TARGET_P95_S:.0f} s); "
        f"baseline one-at-a-time worker p50 {b50 * 1000:.0f} ms, p95 {b95 * 1000:.0f} ms; p95 ratio {b95 / p95:.1f}x"
    )
    assert p95 <= TARGET_P95_S
