"""The school service's long-lived parts: its ingest handler, the shared face models and the retention purge.

``backend.app.create_app`` wires them (and every router) into the app."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from backend.db import connect, transaction
from backend.services.attendance import AttendanceHandler
from backend.services.enrolment import FaceKit
from backend.services.privacy import purge_snapshots
from backend.settings import Settings
from backend.store import retention

logger = logging.getLogger(__name__)


def attendance_handler(settings: Settings) -> AttendanceHandler:
    """The ingest handler deriving attendance and writing outbox rows."""
    return AttendanceHandler(settings.school)


def run_purge(settings: Settings, now: datetime | None = None) -> int:
    """Delete entry snapshots older than the retention (and expired sessions); returns the snapshot files removed."""
    db = connect(settings.database, settings.busy_timeout_ms)
    try:
        with transaction(db) as conn:
            at = now or datetime.now(UTC)
            removed = purge_snapshots(conn, settings.media_dir, settings.school.snapshot_retention_days, at)
            retention.delete_expired_sessions(conn, at.isoformat())
            retention.delete_login_failures_before(conn, (at - timedelta(days=1)).isoformat())
    finally:
        db.conn.close()
    if removed:
        logger.info("retention purge removed %d snapshots", removed)
    return removed


class PurgeThread:
    """Runs ``run_purge`` every ``purge_interval_s`` until stopped."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="retention-purge", daemon=True)

    def _loop(self) -> None:
        while not self.stop_event.wait(self.settings.school.purge_interval_s):
            run_purge(self.settings)

    def start(self) -> None:
        """Start the thread (first purge after one interval)."""
        self.thread.start()

    def stop(self) -> None:
        """Stop and wait."""
        self.stop_event.set()
        self.thread.join(5)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the shared face models and the in-process retention purge to ``app`` (routers: ``create_app``)."""
    app.state.face_kit = FaceKit()
    if settings.school.purge_interval_s > 0:
        purge = PurgeThread(settings)
        app.router.on_startup.append(purge.start)
        app.router.on_shutdown.append(purge.stop)
