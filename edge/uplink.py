"""The uploader: drains the spool to the backend in batches, with exponential back-off and jitter.

Attachments go first (PUT by hash, skipped when already uploaded), then the batch of events. Rows leave the spool
only after the backend acknowledged them, so a crash anywhere means a resend, never a loss; the backend's idempotent
ingest makes the resend harmless. Events the backend refuses (422 malformed or out of bounds, 409 an event id reused
with different content) are moved to the spool's ``rejected`` table with the reason instead of blocking the queue
forever: the ones the answer names in ``rejected``, else each found by sending the batch one event at a time.

A traffic camera's evidence chain ``HEAD`` (its folder named in the spool state ``EVIDENCE_CHAIN`` by the agent) is
reported to ``POST /api/v1/devices/evidence-head`` whenever it differs from the last one the backend answered:
right after each acknowledged batch, and while idle. The backend's 409 (the chain is behind or rewrites the head it
anchored: truncation, rollback) is logged as an error and kept in the spool state ``HEAD_CONFLICT``; a failed post
(network, 5xx, key) is retried with its own back-off, never blocking events and never marked as answered.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from edge.config import UplinkConfig
from edge.spool import Spool, SpooledEvent

logger = logging.getLogger(__name__)

LAST_SUCCESS = "uplink.last_success"
REFUSED = frozenset({409, 422})
"""Answers that refuse the events themselves: resending them unchanged can never succeed."""
EVIDENCE_CHAIN = "evidence.chain_dir"
"""Spool state: the camera's evidence chain folder (written by the traffic agent), whose ``HEAD`` is reported."""
HEAD_REPORTED = "uplink.evidence_head_answered"
"""Spool state: ``seq:sha256`` of the last ``HEAD`` the backend answered (anchored or refused)."""
HEAD_CONFLICT = "uplink.evidence_head_conflict"
"""Spool state: JSON of the last refused ``HEAD`` (seq, sha256, status, the backend's detail, when)."""


class UplinkError(RuntimeError):
    """The backend could not be reached or refused the request in a retryable way."""


class AuthError(UplinkError):
    """The backend refused the device key (401/403): retrying helps only after a new key is configured."""


@dataclass
class Backoff:
    """Exponential back-off with full jitter: delay = uniform(0, min(cap, base * 2**failures))."""

    initial_s: float
    max_s: float
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def next_delay(self) -> float:
        """Record a failure and return how long to wait."""
        ceiling = min(self.max_s, self.initial_s * (2 ** min(self.failures, 30)))
        self.failures += 1
        return self.rng.uniform(self.initial_s / 2, max(ceiling, self.initial_s / 2))

    def reset(self) -> None:
        """A success: start again from the initial delay."""
        self.failures = 0


@dataclass
class UplinkStatus:
    """What the health endpoint reports about the uplink."""

    last_success: float | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    sent: int = 0
    evidence_head: str | None = None
    evidence_head_error: str | None = None
    evidence_head_conflict: str | None = None


class Uploader:
    """Ships spooled events; ``drain_once`` sends one batch, ``run`` loops until stopped."""

    def __init__(self, spool: Spool, config: UplinkConfig, client: httpx.Client | None = None) -> None:
        self.spool = spool
        self.config = config
        base = str(config.backend_url).rstrip("/")
        self.client = client or httpx.Client(base_url=base, timeout=config.timeout_s)
        self.headers = {"X-API-Key": config.api_key}
        self.backoff = Backoff(config.backoff_initial_s, config.backoff_max_s)
        self.head_backoff = Backoff(config.backoff_initial_s, config.backoff_max_s)
        self.head_retry_at = 0.0
        last = spool.get_state(LAST_SUCCESS)
        self.status = UplinkStatus(last_success=float(last) if last else None)

    def drain_once(self) -> int:
        """Send the oldest batch; returns how many events left the spool (0 when it was empty).

        Raises:
            UplinkError: the backend is unreachable or answered with a retryable error.
        """
        batch = self.spool.peek(self.config.batch_size)
        if not batch:
            self.report_head()
            return 0
        self._upload_media(batch)
        body = '{"events":[' + ",".join(item.payload for item in batch) + "]}"
        response = self._request("POST", "/api/v1/events", content=body, headers={"Content-Type": "application/json"})
        if response.status_code in REFUSED:
            named = self._park_named(batch, response)
            if named:
                return named
            if len(batch) > 1:
                return self._isolate(batch)
            self.spool.reject(batch[0].seq, response.text[:2000])
            logger.error("backend rejected event %s: %s", batch[0].event_id, response.text[:300])
            return 1
        self._raise_for(response)
        self.spool.ack(item.seq for item in batch)
        now = time.time()
        self.spool.set_state(LAST_SUCCESS, repr(now))
        self.status.last_success, self.status.sent = now, self.status.sent + len(batch)
        self.report_head(retry_now=True)
        return len(batch)

    def report_head(self, retry_now: bool = False) -> str | None:
        """Report the evidence chain's ``HEAD`` when it differs from the last one the backend answered.

        Never raises: a failure is logged and retried after ``head_backoff`` (sooner with ``retry_now``, after a
        batch went through), so it never holds events back.

        Returns:
            None (no chain, no ``HEAD``, or nothing new / not due), ``"anchored"``, ``"refused"`` (409 or 422:
            logged as an error and kept in ``HEAD_CONFLICT``) or ``"failed"`` (retried later).
        """
        chain = self.spool.get_state(EVIDENCE_CHAIN)
        if chain is None or not (retry_now or time.monotonic() >= self.head_retry_at):
            return None
        try:
            head = read_chain_head(Path(chain))
        except ValueError as exc:
            return self._head_failed(f"unreadable HEAD: {exc}")
        if head is None or f"{head[0]}:{head[1]}" == self.spool.get_state(HEAD_REPORTED):
            return None
        body = {"seq": head[0], "manifest_sha256": head[1]}
        try:
            response = self._request("POST", "/api/v1/devices/evidence-head", json=body)
            if response.status_code in REFUSED:
                return self._head_refused(head, response)
            self._raise_for(response)
        except UplinkError as exc:
            return self._head_failed(str(exc))
        self.spool.set_state(HEAD_REPORTED, f"{head[0]}:{head[1]}")
        self.head_backoff.reset()
        self.status.evidence_head, self.status.evidence_head_error = f"{head[0]}:{head[1]}", None
        logger.info("evidence chain HEAD %d reported to the backend", head[0])
        return "anchored"

    def _head_refused(self, head: tuple[int, str], response: httpx.Response) -> str:
        try:
            detail = str(response.json().get("detail", response.text))
        except ValueError:
            detail = response.text[:500]
        conflict = {"seq": head[0], "manifest_sha256": head[1], "status": response.status_code, "detail": detail}
        self.spool.set_state(HEAD_CONFLICT, json.dumps({**conflict, "at": time.time()}))
        self.spool.set_state(HEAD_REPORTED, f"{head[0]}:{head[1]}")
        self.head_backoff.reset()
        self.status.evidence_head_conflict, self.status.evidence_head_error = detail, None
        logger.error("backend refused evidence chain HEAD %d (%d): %s", head[0], response.status_code, detail)
        return "refused"

    def _head_failed(self, reason: str) -> str:
        delay = self.head_backoff.next_delay()
        self.head_retry_at = time.monotonic() + delay
        self.status.evidence_head_error = reason
        logger.warning("evidence chain HEAD not reported (%s); retrying in %.1fs", reason, delay)
        return "failed"

    def _isolate(self, batch: list[SpooledEvent]) -> int:
        """A batch was refused as malformed: send events one at a time so only the bad one is set aside."""
        moved = 0
        for item in batch:
            response = self._request(
                "POST",
                "/api/v1/events",
                content='{"events":[' + item.payload + "]}",
                headers={"Content-Type": "application/json"},
            )
            if response.status_code in REFUSED:
                self.spool.reject(item.seq, response.text[:2000])
                logger.error("backend rejected event %s: %s", item.event_id, response.text[:300])
            else:
                self._raise_for(response)
                self.spool.ack([item.seq])
            moved += 1
        return moved

    def _park_named(self, batch: list[SpooledEvent], response: httpx.Response) -> int:
        """Set aside the events the refusal names in ``rejected`` (the rest stay and go in the next batch)."""
        try:
            named = {str(r["event_id"]): str(r.get("reason", "")) for r in response.json().get("rejected", [])}
        except (ValueError, TypeError, KeyError, AttributeError):
            logger.warning("refusal without a readable rejected list: %s", response.text[:300])
            return 0
        parked = 0
        for item in batch:
            if str(item.event_id) in named:
                reason = json.dumps({"status": response.status_code, "reason": named[str(item.event_id)]})
                self.spool.reject(item.seq, reason)
                logger.error("backend rejected event %s: %s", item.event_id, named[str(item.event_id)])
                parked += 1
        return parked

    def _upload_media(self, batch: list[SpooledEvent]) -> None:
        for sha in dict.fromkeys(h for item in batch for h in item.attachments):
            media_type, data, uploaded = self.spool.media(sha)
            if uploaded:
                continue
            response = self._request("PUT", f"/api/v1/media/{sha}", content=data, headers={"Content-Type": media_type})
            self._raise_for(response)
            self.spool.mark_uploaded(sha)

    def _request(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        try:
            return self.client.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise UplinkError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _raise_for(response: httpx.Response) -> None:
        if response.status_code in (401, 403):
            raise AuthError(f"backend refused the device key ({response.status_code}): {response.text[:200]}")
        if response.status_code >= 300:
            raise UplinkError(f"backend answered {response.status_code}: {response.text[:200]}")

    def run(self, stop: threading.Event) -> None:
        """Drain until ``stop`` is set, backing off on errors and idling when the spool is empty."""
        while not stop.is_set():
            try:
                sent = self.drain_once()
            except UplinkError as exc:
                delay = self.backoff.next_delay()
                self.status.last_error, self.status.consecutive_failures = str(exc), self.backoff.failures
                logger.warning("uplink failed (%s); retrying in %.1fs", exc, delay)
                stop.wait(delay)
                continue
            self.backoff.reset()
            self.status.consecutive_failures = 0
            if sent == 0:
                stop.wait(self.config.idle_poll_s)

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


def read_chain_head(chain_dir: Path) -> tuple[int, str] | None:
    """``(seq, manifest_sha256)`` of a chain's ``HEAD`` file, None when the chain has no ``HEAD`` yet.

    Raises:
        ValueError: the file is not a ``HEAD`` (not JSON, or no integer ``seq`` / 64-hex ``manifest_sha256``).
    """
    path = chain_dir / "HEAD"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        seq, digest = int(data["seq"]), str(data["manifest_sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
        raise ValueError(f"{path}: {type(exc).__name__}: {exc}") from exc
    if len(digest) != 64 or seq < 0:
        raise ValueError(f"{path}: seq {seq} / manifest_sha256 {digest[:16]!r} is not a chain head")
    return seq, digest


class UplinkThread:
    """Runs an ``Uploader`` in a background thread next to a pipeline."""

    def __init__(self, uploader: Uploader) -> None:
        self.uploader = uploader
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=uploader.run, args=(self.stop_event,), name="uplink", daemon=True)

    def start(self) -> UplinkThread:
        """Start draining."""
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current request."""
        self.stop_event.set()
        self.thread.join(timeout)
