"""``kuzet demo``: start the backend, run the edge agents on the bundled samples through their spools and uplinks,
and print what the backend stored. Every stage is real code on real media; nothing is mocked."""

from __future__ import annotations

import base64
import logging
import secrets
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click
import httpx
import uvicorn

from backend.app import create_app
from backend.db import connect
from backend.settings import Settings
from edge.config import UplinkConfig
from edge.spool import Spool
from edge.uplink import Uploader
from kuzet.contracts import ClockSource, EntryEvent

logger = logging.getLogger(__name__)
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BackendThread:
    """A real uvicorn server on loopback, in a thread, for the demo."""

    settings: Settings
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://{self.settings.host}:{self.settings.port}"

    def start(self) -> BackendThread:
        """Start and wait until /health answers."""
        config = uvicorn.Config(
            create_app(self.settings), host=self.settings.host, port=self.settings.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="backend", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the demo backend did not start within 20 s")

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for it."""
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(10)


def register(url: str, admin_token: str, camera_id: str, kind: str, site: str) -> str:
    """Register a camera through the real API and return its key."""
    response = httpx.post(
        f"{url}/api/v1/devices",
        json={"camera_id": camera_id, "kind": kind, "site": site},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    response.raise_for_status()
    return str(response.json()["api_key"])


def drain(spool: Spool, uplink: UplinkConfig, timeout_s: float = 60.0) -> int:
    """Upload everything in the spool; returns how many events were sent."""
    uploader = Uploader(spool, uplink)
    sent, deadline = 0, time.monotonic() + timeout_s
    try:
        while spool.depth() and time.monotonic() < deadline:
            sent += uploader.drain_once()
    finally:
        uploader.close()
    return sent


def platform_stage(spool: Spool, work_dir: Path) -> list[str]:
    """The foundation on its own: one edge agent spools a few school-door events with a snapshot."""
    import cv2
    import numpy as np

    from edge.spool import make_attachment

    frame = np.zeros((120, 160, 3), np.uint8)
    cv2.putText(frame, "kuzet", (20, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
    _, jpeg = cv2.imencode(".jpg", frame)
    data = jpeg.tobytes()
    attachment = make_attachment(data, "image/jpeg", "snapshot")
    for track in range(3):
        event = EntryEvent(
            event_id=uuid.uuid4(),
            camera_id="demo-door",
            captured_at=datetime.now(UTC),
            clock_source=ClockSource.SYSTEM,
            attachments=(attachment,),
            school_id="demo-school",
            identity="unknown",
            direction="entered",
            track_id=track,
        )
        spool.put(event, {attachment.sha256: data})
    return [f"platform: spooled 3 test events for demo-door (snapshot {attachment.sha256[:12]}…)"]


Stage = Callable[[Spool, Path], list[str]]


def run_demo(work_dir: Path) -> int:
    """Run every stage, upload, and print the summary; returns the exit code."""
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    token = secrets.token_hex(24)
    settings = Settings(
        database=work_dir / "backend.sqlite",
        media_dir=work_dir / "media",
        admin_token=token,
        template_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        port=free_port(),
    )
    backend = BackendThread(settings).start()
    click.echo(f"backend: {backend.url} (database {settings.database})")
    try:
        key = register(backend.url, token, "demo-door", "school", "demo-school")
        spool = Spool(work_dir / "edge-demo-door" / "spool.sqlite")
        uplink = UplinkConfig.model_validate({"backend_url": backend.url, "api_key": key})
        for line in platform_stage(spool, work_dir):
            click.echo(line)
        click.echo(f"uplink: sent {drain(spool, uplink)} events; spool depth now {spool.depth()}")
        spool.close()
    finally:
        backend.stop()
    return _summary(settings)


def _summary(settings: Settings) -> int:
    db = connect(settings.database)
    rows = db.execute("SELECT kind, camera_id, COUNT(*) FROM events GROUP BY kind, camera_id").fetchall()
    media = db.execute("SELECT COUNT(*), COALESCE(SUM(size_bytes), 0) FROM media").fetchone()
    db.conn.close()
    click.echo("stored in the backend:")
    for kind, camera, count in rows:
        click.echo(f"  {count:4d} {kind} events from {camera}")
    click.echo(f"  {media[0]} attachments, {media[1]} bytes")
    return 0 if rows else 1
