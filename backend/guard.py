"""The web guard: an ASGI middleware in front of every route, run before a body is read or a cookie is trusted.

- **CSRF**: a state-changing request (not GET/HEAD/OPTIONS) that a browser marks as coming from another site
  (``Origin`` not this server's own or a trusted one, or ``Sec-Fetch-Site`` other than ``same-origin``/``none``)
  gets 403, unless it authenticates by a header a page cannot set cross-site (``Authorization`` or ``X-API-Key``:
  devices and the admin token). A foreign page can send the session cookie, never those headers. Clients that send
  neither ``Origin`` nor ``Sec-Fetch-Site`` are not browsers (every current browser sends one on a cross-site POST).
- **Size caps before parsing**: each request's body is capped by route (login, event batch, media upload, multipart
  form, other JSON). A declared ``Content-Length`` above the cap answers 413 without the body being kept (up to
  ``DRAIN_BYTES`` are read and thrown away so the client sees the answer); a chunked body is counted as it arrives.
- **Security headers** on every answer: a CSP (pages: scripts and styles only with the request's nonce, which the
  templates read as ``request.state.csp_nonce``), ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``,
  ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from backend.errors import PROBLEM_JSON
from backend.settings import Settings

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SAME_SITE_FETCH = frozenset({"same-origin", "none"})
DRAIN_BYTES = 64 * 1024 * 1024
LOGIN_PATHS = frozenset({"/api/v1/auth/login", "/api/v1/operators/login"})
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
PAGE_CSP = (
    "default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
COMMON_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class TooLargeError(Exception):
    """A body grew past its cap while it was being received."""


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def body_cap(settings: Settings, method: str, path: str, content_type: str) -> int:
    """The largest body this route accepts, bytes."""
    limits = settings.limits
    if method == "PUT" and path.startswith("/api/v1/media/"):
        return settings.max_upload_bytes
    if content_type.startswith("multipart/form-data"):
        return limits.multipart_max_bytes
    if path in LOGIN_PATHS:
        return limits.login_max_bytes
    if path == "/api/v1/events":
        return limits.events_max_bytes
    return limits.json_max_bytes


def is_csrf_candidate(method: str, headers: dict[str, str]) -> bool:
    """A state-changing request that does not authenticate by a header a cross-site page cannot set."""
    return method not in SAFE_METHODS and "authorization" not in headers and "x-api-key" not in headers


def is_cross_site(headers: dict[str, str], trusted: tuple[str, ...]) -> bool:
    """Whether a browser says this request comes from a page of another origin."""
    origin = headers.get("origin")
    if origin is not None:
        own = {f"{scheme}://{headers.get('host', '')}" for scheme in ("http", "https")}
        return origin not in own and origin not in trusted
    fetch_site = headers.get("sec-fetch-site")
    return fetch_site is not None and fetch_site not in SAME_SITE_FETCH


async def _problem(send: Send, status: int, title: str, detail: str) -> None:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        (b"content-security-policy", API_CSP.encode()),
        *COMMON_HEADERS,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class WebGuard:
    """The middleware; ``create_app`` installs it outermost."""

    def __init__(self, app: App, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        headers = _headers(scope)
        method, path = str(scope["method"]), str(scope["path"])
        secured = _secured_send(send, path, nonce)
        if is_csrf_candidate(method, headers) and is_cross_site(headers, self.settings.limits.trusted_origins):
            logger.warning("refused cross-site %s %s from origin %s", method, path, headers.get("origin"))
            await _problem(secured, 403, "Cross-site request", "this request comes from another site's page")
            return
        cap = body_cap(self.settings, method, path, headers.get("content-type", ""))
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await _drain(receive, int(declared))
            await _problem(secured, 413, "Request too large", f"the body is {declared} bytes; the limit is {cap}")
            return
        if declared is None and method not in SAFE_METHODS:
            try:
                receive = await _buffered(receive, cap)
            except TooLargeError:
                await _drain(receive, DRAIN_BYTES)
                await _problem(secured, 413, "Request too large", f"the body exceeds the limit of {cap} bytes")
                return
        await self.app(scope, receive, secured)


def _secured_send(send: Send, path: str, nonce: str) -> Send:
    """Wrap ``send`` to add the security headers (the page CSP for HTML answers)."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            names = {k.lower() for k, _ in headers}
            content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
            if b"content-security-policy" not in names and path not in DOCS_PATHS:
                csp = PAGE_CSP.format(nonce=nonce) if content_type.startswith(b"text/html") else API_CSP
                headers.append((b"content-security-policy", csp.encode()))
            headers.extend(h for h in COMMON_HEADERS if h[0] not in names)
            message["headers"] = headers
        await send(message)

    return wrapped


async def _drain(receive: Receive, declared: int) -> None:
    """Read and discard up to ``DRAIN_BYTES`` of a refused body so the client gets to read the answer."""
    left = min(declared, DRAIN_BYTES)
    while left > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        left -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _buffered(receive: Receive, cap: int) -> Receive:
    """Receive a body of unknown length whole, refusing it past ``cap``; returns a receive that replays it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            replay: list[Message] = [message]
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            raise TooLargeError
        chunks.append(chunk)
        if not message.get("more_body", False):
            replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]
            break

    async def replayed() -> Message:
        return replay.pop() if replay else await receive()

    return replayed
