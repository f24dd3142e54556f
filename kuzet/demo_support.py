"""Real local peers for ``kuzet demo``: the backend in a thread, an SMTP server and a police webhook receiver.

They stand where the city's mail server and the police system would be, on loopback, so the demo shows a parent
message and a police notification actually delivered and a signature actually verified, offline.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import uvicorn
from aiosmtpd.controller import Controller

from backend.app import create_app
from backend.settings import Settings
from notifications.channels.police_webhook import SignatureError, verify


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
