"""The traffic side of the retention purge: each class of data (``TrafficRetentionSettings``) deleted when its
time is up, by the backend's receipt time, with the files nothing else cites (through the ``MediaVault``).

Run by ``backend.services.school_app.run_purge`` (the one purge, every ``school.purge_interval_s``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import datetime, timedelta

from backend.services import media as media_service
from backend.services.media import MediaVault
from backend.settings import TrafficRetentionSettings
from backend.store import retention
from notifications.outbox import delete_prefix

logger = logging.getLogger(__name__)

PAYLOAD_BATCH = 2000


def _cutoff(now: datetime, days: int) -> str:
    return (now - timedelta(days=days)).isoformat()


def _delete(conn: sqlite3.Connection, vault: MediaVault, event_ids: list[str]) -> tuple[int, int]:
    """Delete events (and the violations they are) and the files only they cited; ``(events, files)``."""
    if not event_ids:
        return 0, 0
    shas = sorted(retention.attachments_of(conn, event_ids))
    for event_id in event_ids:
        delete_prefix(conn, f"police:{event_id}")  # a queued or sent hand-off names the plate
    events = retention.delete_events(conn, event_ids)
    orphans = sorted(set(shas) - retention.still_cited(conn, shas))
    return events, media_service.forget(conn, vault, orphans)


def _strip_plates(conn: sqlite3.Connection, cutoff: str) -> int:
    """Remove the plate text and its confidence from vehicle events received before ``cutoff``; returns how many."""
    done = 0
    while batch := retention.vehicle_payloads_with_plates(conn, cutoff, PAYLOAD_BATCH):
        for event_id, payload in batch:
            data = json.loads(payload)
            data["plate_text"], data["plate_confidence"] = None, None
            retention.set_payload(conn, event_id, json.dumps(data, separators=(",", ":")))
        done += len(batch)
    return done


def purge_traffic(
    conn: sqlite3.Connection, vault: MediaVault, settings: TrafficRetentionSettings, now: datetime
) -> dict[str, int]:
    """Apply every traffic data class's retention at ``now`` (inside the caller's transaction).

    Returns:
        Counts: ``violations`` deleted (with their evidence), ``plate_alerts`` deleted, ``plates_stripped`` from
        vehicle events, ``vehicle_events`` deleted, ``files`` removed.
    """
    expired = retention.expired_violations(
        conn, _cutoff(now, settings.evidence_days), _cutoff(now, settings.confirmed_evidence_days)
    )
    violations, files = _delete(conn, vault, expired)
    alerts, alert_files = _delete(
        conn, vault, retention.events_received_before(conn, "plate_alert", _cutoff(now, settings.plate_reads_days))
    )
    stripped = _strip_plates(conn, _cutoff(now, settings.plate_reads_days))
    vehicles, vehicle_files = _delete(
        conn, vault, retention.events_received_before(conn, "vehicle", _cutoff(now, settings.vehicle_events_days))
    )
    counts = {
        "violations": violations,
        "plate_alerts": alerts,
        "plates_stripped": stripped,
        "vehicle_events": vehicles,
        "files": files + alert_files + vehicle_files,
    }
    if any(counts.values()):
        logger.info("traffic retention purge: %s", counts)
    return counts
