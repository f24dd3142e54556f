"""Real local receivers for the notification tests: an SMTP server (aiosmtpd) and HTTP servers that speak the
Telegram Bot API, the SMS gateway's API and the police webhook, each on 127.0.0.1.

Each can be stopped and started again on the same port (the channel "down for a while"), made to answer with a
temporary error for the next N requests, or refuse a recipient permanently, as the real services do.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from notifications.channels.police_webhook import DELIVERY, SignatureError, verify
from tests.support.servers import free_port

Reply = tuple[int, dict[str, Any]]


@dataclass
class Received:
    """One request a receiver accepted."""

    recipient: str
    text: str
    headers: dict[str, str]
    at: float = field(default_factory=time.perf_counter)


class HttpReceiver:
    """Base of the HTTP receivers: a ThreadingHTTPServer on loopback, restartable on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.requests = 0
        self.fail_next = 0
        self.fail_status = 503
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._ids = itertools.count(1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests += 1
                    status, reply = receiver.answer(self.path, dict(self.headers.items()), body)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the port: clients get 'connection refused'."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if self.fail_next > 0:
            self.fail_next -= 1
            return self.temporary_error()
        return self.handle(path, headers, body)

    def temporary_error(self) -> Reply:
        return self.fail_status, {"error": "service unavailable"}

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        raise NotImplementedError

    def next_id(self) -> int:
        return next(self._ids)


class TelegramServer(HttpReceiver):
    """``POST /bot{token}/sendMessage`` as api.telegram.org answers it (ok/result, error_code/description)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.blocked: set[str] = set()
        self.retry_after = 1

    def temporary_error(self) -> Reply:
        if self.fail_status == 429:
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {self.retry_after}",
                "parameters": {"retry_after": self.retry_after},
            }
        return self.fail_status, {"ok": False, "error_code": self.fail_status, "description": "Bad Gateway"}

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if path != f"/bot{self.token}/sendMessage":
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        request = json.loads(body)
        chat_id, text = str(request.get("chat_id", "")), request.get("text")
        if not chat_id.lstrip("-").isdigit() or not text:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
        if chat_id in self.blocked:
            return 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
        self.received.append(Received(chat_id, text, headers))
        message_id = self.next_id()
        return 200, {"ok": True, "result": {"message_id": message_id, "chat": {"id": int(chat_id)}, "text": text}}


class SmsGatewayServer(HttpReceiver):
    """``POST /api/v1/send`` JSON ``{to, text, sender, client_ref}`` with ``X-API-Key``; 202 ``{message_id}``.

    Like real gateways it deduplicates by ``client_ref`` (a retried request is not a second SMS).
    """

    def __init__(self, api_key: str) -> None:
        super().__init__()
        self.api_key = api_key
        self.refs: dict[str, int] = {}

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if path != "/api/v1/send":
            return 404, {"error": "not found"}
        if headers.get("X-API-Key") != self.api_key:
            return 401, {"error": "invalid api key"}
        request = json.loads(body)
        to = str(request.get("to", ""))
        if not (to.startswith("+7") and to[1:].isdigit() and len(to) == 12):
            return 400, {"error": f"invalid phone number {to!r}"}
        ref = str(request.get("client_ref", ""))
        if ref in self.refs:
            return 202, {"message_id": self.refs[ref], "duplicate": True}
        self.refs[ref] = self.next_id()
        self.received.append(Received(to, str(request.get("text", "")), headers))
        return 202, {"message_id": self.refs[ref]}


class PoliceReceiver(HttpReceiver):
    """The police system's side: verifies the signature and timestamp, stores each delivery id once."""

    def __init__(self, secret: str | None = None, public_key: Any = None) -> None:
        super().__init__()
        self.secret = secret
        self.public_key = public_key
        self.rejected: list[str] = []
        self.deliveries: dict[str, int] = {}

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        try:
            verify(body, headers, secret=self.secret, public_key=self.public_key)
        except SignatureError as exc:
            self.rejected.append(str(exc))
            return 401, {"error": str(exc)}
        delivery = headers.get(DELIVERY, "")
        if delivery not in self.deliveries:
            self.deliveries[delivery] = self.next_id()
            self.received.append(Received(delivery, body.decode(), headers))
        return 201, {"id": self.deliveries[delivery]}


class _SmtpHandler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(  # noqa: N802 (aiosmtpd hook name)
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.server.fail_next > 0:
            self.server.fail_next -= 1
            return "421 4.3.2 Service not available, try again later"
        if address in self.server.refused:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        with self.server.lock:
            for rcpt in envelope.rcpt_tos:
                self.server.received.append(Received(rcpt, content.decode("utf-8", "replace"), {}))
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on loopback; records every accepted message; restartable on its port."""

    def __init__(self, **controller: Any) -> None:
        """``controller``: extra aiosmtpd options (tls_context, require_starttls, authenticator, ...)."""
        self.port = free_port()
        self.options = controller
        self.received: list[Received] = []
        self.refused: set[str] = set()
        self.fail_next = 0
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> Self:
        self._controller = Controller(_SmtpHandler(self), hostname="127.0.0.1", port=self.port, **self.options)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
