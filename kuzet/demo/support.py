"""What every stage of ``kuzet demo`` shares: the samples, the fixed clock, the backend and the local peers.

The backend runs in a thread; an SMTP server and a police webhook receiver stand where the city's mail server and the
police system would be, on loopback, so the demo shows a parent message and a police notification actually
delivered and a signature actually verified, offline. Devices register through the real API and upload through the
real uploader.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from aiosmtpd.controller import Controller

from backend.app import create_app
from backend.settings import Settings
from edge.config import UplinkConfig
from edge.spool import Spool
from edge.uplink import Uploader
from notifications.channels.police_webhook import SignatureError, verify

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SCHOOL_ID = "demo-school"
DISTRICT = "demo-district"
DEMO_T0 = 1_795_402_800.0  # 2026-11-23T03:00:00Z, Monday 08:00 at UTC+5: frame 0 of the traffic clips


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BackendThread:
    """A real uvicorn server on loopback, in a thread."""

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
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the demo backend did not start within 30 s")

    def stop(self) -> None:
        """Ask uvicorn to exit (runs the shutdown hooks) and wait for it."""
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(15)


@dataclass
class SmtpInbox:
    """An aiosmtpd server that keeps every message it accepts."""

    port: int = field(default_factory=free_port)
    messages: list[tuple[str, str]] = field(default_factory=list)  # (recipient, body)
    controller: Controller | None = None

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802
        """aiosmtpd hook: store the message."""
        mail = message_from_bytes(envelope.content, policy=policy.default)
        body = mail.get_body(preferencelist=("plain",))
        text = body.get_content().strip() if body is not None else ""
        for recipient in envelope.rcpt_tos:
            self.messages.append((recipient, text))
        return "250 accepted"

    def start(self) -> SmtpInbox:
        """Listen on loopback."""
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self.controller is not None:
            self.controller.stop()


class PoliceReceiver:
    """An HTTP server standing in for the police system: it verifies each webhook's HMAC signature."""

    def __init__(self, secret: str) -> None:
        self.port = free_port()
        self.received: list[dict[str, Any]] = []
        self.rejected: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    verify(body, dict(self.headers.items()), secret=secret)
                except SignatureError as exc:
                    receiver.rejected.append(str(exc))
                    self.send_response(401)
                    self.end_headers()
                    return
                receiver.received.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status":"accepted"}')

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="police", daemon=True)

    @property
    def url(self) -> str:
        """Webhook URL."""
        return f"http://127.0.0.1:{self.port}/violations"

    def start(self) -> PoliceReceiver:
        """Serve in the background."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Shut down."""
        self.server.shutdown()
        self.server.server_close()


class DemoBackend:
    """The running backend plus how devices talk to it."""

    def __init__(self, backend: BackendThread, admin_token: str, work_dir: Path) -> None:
        self.backend = backend
        self.admin = {"Authorization": f"Bearer {admin_token}"}
        self.work_dir = work_dir
        self.keys: dict[str, str] = {}

    def device(
        self, camera_id: str, kind: str, site: str, evidence_key: str | None = None
    ) -> tuple[Spool, UplinkConfig]:
        """Register a camera through the real API (once; a traffic camera with its evidence signing key) and open
        its on-device spool."""
        if camera_id not in self.keys:
            body = {"camera_id": camera_id, "kind": kind, "site": site, "evidence_public_key": evidence_key}
            response = httpx.post(f"{self.backend.url}/api/v1/devices", json=body, headers=self.admin)
            response.raise_for_status()
            self.keys[camera_id] = str(response.json()["api_key"])
        spool = Spool(self.work_dir / "edge" / camera_id / "spool.sqlite")
        uplink = UplinkConfig.model_validate({"backend_url": self.backend.url, "api_key": self.keys[camera_id]})
        return spool, uplink


def drain(spool: Spool, uplink: UplinkConfig, timeout_s: float = 60.0) -> int:
    """Upload everything in the spool through the real uploader; returns how many events were sent."""
    uploader = Uploader(spool, uplink)
    sent, deadline = 0, time.monotonic() + timeout_s
    try:
        while spool.depth() and time.monotonic() < deadline:
            sent += uploader.drain_once()
    finally:
        uploader.close()
        spool.close()
    return sent


def wait_for(predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Poll until ``predicate`` holds or the time is up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()
