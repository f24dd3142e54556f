"""The outbox worker as a background thread of another process (``kuzet serve`` when
``notifications.run_in_backend`` is set); ``kuzet notify`` is the stand-alone form."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from notifications.channels import build_channels
from notifications.config import NotificationSettings
from notifications.worker import OutboxWorker

logger = logging.getLogger(__name__)


class WorkerThread:
    """Starts an ``OutboxWorker`` loop on ``start()`` and finishes the sends in flight on ``stop()``."""

    def __init__(self, db_path: Path, settings: NotificationSettings, busy_timeout_ms: int = 10_000) -> None:
        self.db_path = db_path
        self.settings = settings
        self.busy_timeout_ms = busy_timeout_ms
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.worker: OutboxWorker | None = None

    def start(self) -> None:
        """Build the channels and the worker and start delivering (no-op without a configured channel)."""
        channels = build_channels(self.settings)
        if not channels:
            logger.warning("notifications.run_in_backend is set but no channel is configured: nothing is delivered")
            return
        self.worker = OutboxWorker(self.db_path, channels, self.settings.worker, busy_timeout_ms=self.busy_timeout_ms)
        self.thread = threading.Thread(target=self.worker.run, args=(self.stop_event,), name="outbox", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop, wait for the sends in flight, close."""
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(30)
        if self.worker is not None:
            self.worker.close()
