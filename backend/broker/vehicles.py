"""Ingest's side of the vehicle-event stream: the handler that publishes new vehicle events before the commit.

The handler runs inside the ingest transaction (``IngestService`` handlers), so a batch is acknowledged to the
device only after the stream acknowledged its vehicle events; if the broker is away the transaction rolls back and
the device is told to come back (429 with ``retry_after_s``), so nothing acknowledged is missing from the stream.
Each camera's part of a batch is one message (the server fsyncs each message before its ack; one per event would
cap a node at a few hundred events/s), whose ``Nats-Msg-Id`` is a hash of its event ids: a batch re-sent after a
lost answer is dropped by the server inside the duplicate window.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections import defaultdict
from collections.abc import Sequence

from backend.broker.config import BrokerSettings
from backend.broker.streams import vehicles_config, vehicles_subject
from backend.services.errors import TooManyRequestsError
from kuzet.contracts import EventBase, VehicleEvent
from notifications.jetstream import BrokerUnavailableError, JetStreamLink, Publish

logger = logging.getLogger(__name__)


def batch_messages(settings: BrokerSettings, events: Sequence[VehicleEvent]) -> list[Publish]:
    """One message per camera: a JSON array of the events' wire JSON, id ``veh:`` + SHA-256 of the event ids."""
    by_camera: dict[str, list[VehicleEvent]] = defaultdict(list)
    for event in events:
        by_camera[event.camera_id].append(event)
    messages = []
    for camera_id, mine in sorted(by_camera.items()):
        ids = ",".join(sorted(str(e.event_id) for e in mine))
        payload = ("[" + ",".join(e.model_dump_json() for e in mine) + "]").encode()
        msg_id = "veh:" + hashlib.sha256(ids.encode()).hexdigest()[:40]
        messages.append(Publish(vehicles_subject(settings, camera_id), payload, msg_id))
    return messages


class VehicleStreamHandler:
    """Publishes newly ingested vehicle events to the stream (an ingest ``EventHandler``)."""

    kinds = frozenset({"vehicle"})

    def __init__(self, link: JetStreamLink, settings: BrokerSettings) -> None:
        self.link = link
        self.settings = settings
        link.ensure_stream(vehicles_config(settings))

    def handle(self, conn: sqlite3.Connection, events: Sequence[EventBase]) -> None:
        """Publish and wait for the stream's acks; refuse the batch (429) when the broker does not answer."""
        vehicles = [e for e in events if isinstance(e, VehicleEvent)]
        try:
            self.link.publish_many(batch_messages(self.settings, vehicles))
        except BrokerUnavailableError as exc:
            logger.error("vehicle stream: %s", exc)
            raise TooManyRequestsError(
                "Broker unavailable",
                "the vehicle-event stream did not acknowledge; nothing of this batch was stored, send it again",
                retry_after_s=1,
            ) from exc
