"""The outbox worker as a background thread of another process (``kuzet serve`` when
``notifications.run_in_backend`` is set); ``kuzet notify`` is the stand-alone form."""

from __future__ import annotations

import logging
import threading

from notifications.channels import build_channels
from notifications.config import NotificationSettings
from notifications.database import Connect
from notifications.worker import OutboxWorker

logger = logging.getLogger(__name__)


class WorkerThread:
    """Starts an ``OutboxWorker`` loop on ``start()`` and finishes the sends in flight on ``stop()``."""

    def __init__(self, connect: Connect, settings: NotificationSettings) -> None:
        """Nothing opens until ``start``.

        Args:
            connect: opens a connection to the database holding the outbox (see ``OutboxWorker``).
            settings: the channels and the worker policy.
        """
        self.connect = connect
        self.settings = settings
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.worker: OutboxWorker | None = None

    def start(self) -> None:
        """Build the channels and the worker and start delivering (no-op without a configured channel)."""
        channels = build_channels(self.settings)
        if not channels:
            logger.warning("notifications.run_in_backend is set but no channel is configured: nothing is delivered")
            return
        self.worker = OutboxWorker(self.connect, channels, self.settings.worker)
        self.thread = threading.Thread(target=self.worker.run, args=(self.stop_event,), name="outbox", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop, wait for the sends in flight, close."""
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(30)
        if self.worker is not None:
            self.worker.close()
