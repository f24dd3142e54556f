"""A synchronous handle on NATS JetStream for threaded code (FastAPI's sync routes, the workers).

nats-py is asyncio; this runs one event loop in a daemon thread per link and hands coroutines to it, so callers
block on a future with a timeout. Every publish carries ``Nats-Msg-Id`` (the server drops a repeat inside the
stream's duplicate window) and returns only after the stream acknowledged it (stored; fsynced before the ack when
the server runs with ``sync_interval: always``). The link reconnects by itself; a publish that fails while the
server is away raises :class:`BrokerUnavailableError`, and the caller decides (ingest answers 429, the device
retries).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

logger = logging.getLogger(__name__)
T = TypeVar("T")
FETCH_GRACE_S = 1.0  # how long a pull may overrun its own timeout before it counts as empty


async def pull(sub: Any, count: int, wait_s: float, who: str) -> list[Any]:
    """Up to ``count`` messages of a pull subscription; none by ``wait_s`` is an empty batch.

    nats-py's ``fetch`` can stall past its own timeout when an earlier pull left a lingering request on the server
    (nats-io/nats.py#933, #986); it is cut at ``wait_s + FETCH_GRACE_S`` and counts as an empty batch (logged for
    ``who``), so one stuck pull costs a second, not the caller's whole link timeout. Unacked messages are
    redelivered after the consumer's ack wait.
    """
    try:
        return list(await asyncio.wait_for(sub.fetch(count, timeout=wait_s), wait_s + FETCH_GRACE_S))
    except NatsTimeout:
        return []
    except TimeoutError:
        logger.warning("%s: a pull stalled past %.1f s; treated as an empty batch", who, wait_s)
        return []


class BrokerUnavailableError(RuntimeError):
    """The broker did not acknowledge in time (down, restarting, or the stream is missing)."""


@dataclass(frozen=True, slots=True)
class Publish:
    """One message to publish: subject, payload and its de-duplication id."""

    subject: str
    payload: bytes
    msg_id: str


class JetStreamLink:
    """A connected JetStream context driven from other threads; ``close`` ends the loop."""

    def __init__(self, url: str, *, name: str, timeout_s: float = 10.0) -> None:
        """Connect (raises :class:`BrokerUnavailableError` when the server does not answer within ``timeout_s``)."""
        self.timeout_s = timeout_s
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=f"nats-{name}", daemon=True)
        self.thread.start()
        self.nc: Client = self.call(self._connect(url, name))
        self.js: JetStreamContext = self.nc.jetstream(timeout=timeout_s)

    async def _connect(self, url: str, name: str) -> Client:
        return await nats.connect(
            url,
            name=name,
            connect_timeout=self.timeout_s,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.2,
            allow_reconnect=True,
            error_cb=self._on_error,
        )

    async def _on_error(self, exc: Exception) -> None:
        logger.warning("nats: %s: %s", type(exc).__name__, exc)

    def call(self, coro: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        """Run ``coro`` on the link's loop and wait for it."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(self.timeout_s if timeout_s is None else timeout_s)
        except (FutureTimeout, TimeoutError, NatsError, OSError) as exc:
            future.cancel()
            raise BrokerUnavailableError(f"broker did not answer: {type(exc).__name__}: {exc}") from exc

    def ensure_stream(self, config: StreamConfig) -> None:
        """Create the stream, or update it to ``config`` when it exists."""
        self.call(self._ensure_stream(config))

    async def _ensure_stream(self, config: StreamConfig) -> None:
        try:
            await self.js.stream_info(str(config.name))
        except NotFoundError:
            await self.js.add_stream(config)
            logger.info("created stream %s for %s", config.name, config.subjects)
            return
        await self.js.update_stream(config)

    def publish_many(self, messages: Sequence[Publish]) -> None:
        """Publish every message and wait until the stream acknowledged all of them (in parallel)."""
        if messages:
            self.call(self._publish_many(messages), self.timeout_s * 2)

    async def _publish_many(self, messages: Sequence[Publish]) -> None:
        await asyncio.gather(
            *(
                self.js.publish(m.subject, m.payload, timeout=self.timeout_s, headers={"Nats-Msg-Id": m.msg_id})
                for m in messages
            )
        )

    def close(self) -> None:
        """Close the connection (every publish was acknowledged already) and stop the loop."""
        try:
            self.call(self.nc.close(), 5.0)
        except BrokerUnavailableError as exc:
            logger.warning("nats: closing: %s", exc)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()
