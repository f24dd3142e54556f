"""The uploader: drains the spool to the backend in batches, with exponential back-off and jitter.

Attachments go first (PUT by hash, skipped when already uploaded), then the batch of events. Rows leave the spool
only after the backend acknowledged them, so a crash anywhere means a resend, never a loss; the backend's idempotent
ingest makes the resend harmless. Events the backend refuses (422 malformed or out of bounds, 409 an event id reused
with different content) are moved to the spool's ``rejected`` table with the reason instead of blocking the queue
forever: the ones the answer names in ``rejected``, else each found by sending the batch one event at a time.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass, field

import httpx

from edge.config import UplinkConfig
from edge.spool import Spool, SpooledEvent

logger = logging.getLogger(__name__)

LAST_SUCCESS = "uplink.last_success"
REFUSED = frozenset({409, 422})
"""Answers that refuse the events themselves: resending them unchanged can never succeed."""


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


class Uploader:
    """Ships spooled events; ``drain_once`` sends one batch, ``run`` loops until stopped."""

    def __init__(self, spool: Spool, config: UplinkConfig, client: httpx.Client | None = None) -> None:
        self.spool = spool
        self.config = config
        base = str(config.backend_url).rstrip("/")
        self.client = client or httpx.Client(base_url=base, timeout=config.timeout_s)
        self.headers = {"X-API-Key": config.api_key}
        self.backoff = Backoff(config.backoff_initial_s, config.backoff_max_s)
        last = spool.get_state(LAST_SUCCESS)
        self.status = UplinkStatus(last_success=float(last) if last else None)

    def drain_once(self) -> int:
        """Send the oldest batch; returns how many events left the spool (0 when it was empty).

        Raises:
            UplinkError: the backend is unreachable or answered with a retryable error.
        """
        batch = self.spool.peek(self.config.batch_size)
        if not batch:
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
        return len(batch)

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
