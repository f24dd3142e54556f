"""The city setup on one machine: PostgreSQL, NATS JetStream and an S3 server, N API processes (``kuzet serve``)
and M notification workers (``kuzet notify``) over one settings file, started in order and stopped in reverse
(also when starting fails half way or on Ctrl-C: ``with CityStack(...) as city``)."""

from __future__ import annotations

import base64
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import yaml

from backend.settings import Settings
from kuzet.city.nats import NatsServer, free_port
from kuzet.city.postgres import LocalPostgres
from kuzet.city.s3 import LocalS3

logger = logging.getLogger(__name__)
BUCKET = "kuzet-city"


class Child:
    """One ``python -m kuzet ...`` child process with its log file."""

    def __init__(self, name: str, args: list[str], log: Path) -> None:
        self.name = name
        self.args = args
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Child:
        """Start the process (output to its log)."""
        with self.log.open("ab") as out:
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            self.proc = subprocess.Popen([sys.executable, "-m", "kuzet", *self.args], stdout=out, stderr=out, env=env)
        return self

    @property
    def pid(self) -> int:
        """Process id (0 before start)."""
        return 0 if self.proc is None else self.proc.pid

    def alive(self) -> bool:
        """Whether it runs."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL (no shutdown handlers): what was acknowledged must survive."""
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s."""
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self) -> str:
        """The end of its log."""
        return self.log.read_text(errors="replace")[-1500:] if self.log.exists() else ""


class CityStack:
    """Everything the city setup runs; ``settings`` is the shared backend settings (also written to a file)."""

    def __init__(self, work_dir: Path, notifications: dict[str, Any], *, apis: int = 2, workers: int = 2) -> None:
        self.work_dir = work_dir.resolve()
        self.notifications = notifications
        self.api_count, self.worker_count = apis, workers
        self.postgres = LocalPostgres(self.work_dir / "pg")
        self.nats = NatsServer(self.work_dir / "nats")
        self.s3 = LocalS3()
        self.apis: list[Child] = []
        self.workers: list[Child] = []
        self.config = self.work_dir / "backend.yaml"
        self.settings: Settings | None = None

    def __enter__(self) -> CityStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> CityStack:
        """Start the servers, write the settings, migrate, then the API processes and the workers."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.postgres.start()
        self.nats.start()
        self.s3.start()
        raw = self._settings(self.postgres.fresh_database("kuzet_city"))
        self.config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
        self.config.chmod(0o600)
        self.settings = Settings.model_validate(raw)
        self._prepare(self.settings)
        ports = [free_port() for _ in range(self.api_count)]
        self.apis = [
            Child(f"api-{i + 1}", ["serve", "--config", str(self.config), "--port", str(port)],
                  self.work_dir / f"api-{i + 1}.log").start()
            for i, port in enumerate(ports)
        ]  # fmt: skip
        self.api_urls = [f"http://127.0.0.1:{port}" for port in ports]
        for child, url in zip(self.apis, self.api_urls, strict=True):
            self.wait_healthy(child, url)
        self.workers = [
            Child(
                f"notify-{i + 1}", ["notify", "--config", str(self.config)], self.work_dir / f"notify-{i + 1}.log"
            ).start()
            for i in range(self.worker_count)
        ]
        return self

    def _settings(self, database_url: str) -> dict[str, Any]:
        return {
            "database": {"url": database_url, "pool_max": 20},
            "media_dir": str(self.work_dir / "media"),
            "admin_token": secrets.token_hex(24),
            "template_key": base64.b64encode(os.urandom(32)).decode(),
            "media": self.s3.media_section(f"s3://{BUCKET}/media"),
            "broker": {"url": self.nats.url, "outbox_fanout": True},
            "notifications": self.notifications,
            "school": {"purge_interval_s": 0},
        }

    @staticmethod
    def _prepare(settings: Settings) -> None:
        """Migrate once and create the bucket before the API processes start (they would race to do both)."""
        from backend.db import connect, migrate
        from backend.services.media import MediaVault

        db = connect(settings.database)
        try:
            migrate(db)
        finally:
            db.conn.close()
        MediaVault.of(settings)

    @staticmethod
    def wait_healthy(child: Child, url: str, timeout_s: float = 60.0) -> None:
        """Wait until ``url`` answers /api/v1/health (RuntimeError with the log's tail when the process exits)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited: {child.tail()}")
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"{child.name} did not answer within {timeout_s:.0f} s: {child.tail()}")

    def restart_api(self, index: int) -> None:
        """Start API process ``index`` again on its port (after a kill) and wait until it answers."""
        old = self.apis[index]
        self.apis[index] = Child(old.name, old.args, old.log).start()
        self.wait_healthy(self.apis[index], self.api_urls[index])

    def stop(self) -> None:
        """Stop everything that was started, in reverse order; every step runs even when one fails."""
        steps = [*(w.stop for w in self.workers), *(a.stop for a in self.apis), self.s3.stop, self.nats.stop,
                 self.postgres.stop]  # fmt: skip
        for step in steps:
            try:
                step()
            except Exception:
                logger.exception("city: stopping %s failed", getattr(step, "__self__", step))
