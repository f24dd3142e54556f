"""The backend application factory."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import FastAPI
from PIL import Image

from backend import errors
from backend.broker import wiring as broker_wiring
from backend.db import close_pools, connect, connector, migrate
from backend.guard import WebGuard
from backend.routes import (
    attendance,
    auth,
    camera_health,
    classes,
    dashboard,
    devices,
    events,
    exports,
    gallery,
    guardians,
    health,
    media,
    pages_admin,
    pages_reports,
    parents,
    pupils,
    review,
    schools,
    violations,
)
from backend.services import school_app
from backend.services.camera_health import CameraHealthHandler
from backend.services.ingest import EventHandler, IngestService
from backend.services.media import MediaVault
from backend.services.violations import ViolationEventHandler
from backend.settings import Settings
from notifications.service import WorkerThread

logger = logging.getLogger(__name__)
ROUTERS = (
    health.router,
    devices.router,
    events.router,
    media.router,
    violations.router,
    review.router,
    auth.router,
    schools.router,
    classes.router,
    pupils.router,
    guardians.router,
    attendance.router,
    exports.router,
    parents.router,
    gallery.router,
    dashboard.router,
    pages_admin.router,
    pages_reports.router,
    camera_health.router,
)
"""Every router of the backend, in the order they are matched: platform, traffic, then the school service."""


@dataclass(frozen=True, slots=True)
class Services:
    """Long-lived services, built once per app and handed to routes through dependencies."""

    ingest: IngestService


def create_app(settings: Settings, handlers: Sequence[EventHandler] = ()) -> FastAPI:
    """Build the app: migrate the database, wire every router and the services (the one place that does).

    Args:
        settings: validated settings (load once, pass down).
        handlers: event handlers run inside the ingest transaction for new events.
    """
    db = connect(settings.database, settings.busy_timeout_ms)
    try:
        applied = migrate(db)
    finally:
        db.conn.close()
    if applied:
        logger.info("database %s migrated to %s", settings.database, applied[-1])
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    Image.MAX_IMAGE_PIXELS = settings.limits.max_image_pixels  # larger: DecompressionBombError, answered 413
    app = FastAPI(title="Kuzet backend", version="0.1.0")
    app.state.settings = settings
    builtin: tuple[EventHandler, ...] = (
        school_app.attendance_handler(settings),
        ViolationEventHandler(MediaVault.of(settings)),
        CameraHealthHandler(settings.school.timezone),
        *broker_wiring.install(app, settings),
    )
    unstored = broker_wiring.unstored_kinds(settings)
    app.state.services = Services(ingest=IngestService([*handlers, *builtin], settings.limits, unstored))
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router, responses=errors.PROBLEM_RESPONSES)
    school_app.install(app, settings)
    app.add_middleware(WebGuard, settings=settings)
    if settings.notifications.run_in_backend:
        outbox_worker = WorkerThread(connector(settings.database, settings.busy_timeout_ms), settings.notifications)
        app.router.on_startup.append(outbox_worker.start)
        app.router.on_shutdown.append(outbox_worker.stop)
    app.router.on_shutdown.append(close_pools)  # PostgreSQL: give the connections back (SQLite: nothing)
    return app
