"""The school service's long-lived parts: its ingest handler, the shared face models and the retention purge.

``backend.app.create_app`` wires them (and every router) into the app."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from fastapi import FastAPI

from backend.db import connect, transaction
from backend.services.attendance import AttendanceHandler
from backend.services.enrolment import FaceKit
from backend.services.ingest import purge_events
from backend.services.media import MediaVault, seal_plaintext
from backend.services.privacy import purge_snapshots, purge_uncited
from backend.services.traffic_retention import purge_traffic
from backend.settings import Settings
from backend.store import retention

logger = logging.getLogger(__name__)


def attendance_handler(settings: Settings) -> AttendanceHandler:
    """The ingest handler deriving attendance and writing outbox rows."""
    return AttendanceHandler(settings.school)


def run_purge(settings: Settings, now: datetime | None = None) -> int:
    """Delete school snapshots received longer ago than the retention, traffic data past its class's retention
    (``backend.services.traffic_retention``), uploads nothing cites after their grace,
    and expired sessions (login attempts prune themselves at each login), and seal files stored in plaintext;
    returns the attachment files removed."""
    db = connect(settings.database, settings.busy_timeout_ms)
    vault = MediaVault.of(settings)
    try:
        with transaction(db) as conn:
            at = now or datetime.now(UTC)
            snapshots = purge_snapshots(conn, vault, settings.school.snapshot_retention_days, at)
            snapshots += purge_traffic(conn, vault, settings.traffic_retention, at)["files"]
            purge_events(conn, settings.database.event_retention_days, at)  # before: their uploads become uncited
            uncited = purge_uncited(conn, vault, settings.school.uncited_media_grace_hours, at)
            sealed = seal_plaintext(conn, vault)
            retention.delete_expired_sessions(conn, at.isoformat())
    finally:
        db.conn.close()
    if snapshots or uncited or sealed:
        logger.info("retention purge: %d snapshots, %d uncited uploads removed; %d files sealed", snapshots, uncited,
                    sealed)  # fmt: skip
    return snapshots + uncited


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
