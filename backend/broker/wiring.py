"""What the backend process runs against the broker when ``broker.url`` is set (``create_app`` calls
:func:`install`): one JetStream link, the vehicle-stream ingest handler, the link closed at shutdown."""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI

from backend.broker.vehicles import VehicleStreamHandler
from backend.services.ingest import EventHandler
from backend.settings import Settings
from notifications.jetstream import JetStreamLink

logger = logging.getLogger(__name__)


def install(app: FastAPI, settings: Settings) -> tuple[EventHandler, ...]:
    """Connect to the broker and return the ingest handlers that publish to it (none without ``broker.url``).

    Raises:
        notifications.jetstream.BrokerUnavailableError: the broker did not answer within ``broker.publish_timeout_s``.
    """
    broker = settings.broker
    if broker.url is None:
        return ()
    link = JetStreamLink(broker.url, name=f"kuzet-api-{os.getpid()}", timeout_s=broker.publish_timeout_s)
    app.router.on_shutdown.append(link.close)
    logger.info("broker %s: vehicle events published to the stream", broker.safe_url)
    return (VehicleStreamHandler(link, broker),)


def unstored_kinds(settings: Settings) -> frozenset[str]:
    """Event kinds ingest keeps as no row: vehicle events when the broker's stream holds them and
    ``broker.store_vehicle_events`` is off."""
    broker = settings.broker
    return frozenset({"vehicle"}) if broker.url is not None and not broker.store_vehicle_events else frozenset()
