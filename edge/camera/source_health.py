"""A camera's health in the spool's status table: the state, drops and reconnects of its frame source.

Both agents (school door, traffic) report their ``hardware.camera`` source here, under their own key, so a camera
that drops shows in the device's health rather than only in a log. Only changes are written (not every frame), so
the SD card is spared.
"""

from __future__ import annotations

import json
import logging

from edge.spool import Spool
from hardware.camera import SourceStatus

logger = logging.getLogger(__name__)


class SourceHealth:
    """Writes a source's status to ``spool`` under ``key`` whenever its state, drops or reconnects change.

    Args:
        spool: the device's spool (its status table is what the health endpoint reads).
        key: the status key, e.g. ``school.camera``.
    """

    def __init__(self, spool: Spool, key: str) -> None:
        self.spool = spool
        self.key = key
        self.reported: SourceStatus | None = None

    def update(self, status: SourceStatus) -> None:
        """Record ``status`` when it differs from the last one written (always the first time)."""
        previous = self.reported
        if previous is not None and _counters(status) == _counters(previous):
            return
        payload = {
            "state": status.state,
            "frames": status.frames,
            "drops": status.drops,
            "reconnects": status.reconnects,
            "reconnect_attempts": status.reconnect_attempts,
            "last_error": status.last_error,
            "last_frame_at": None if status.last_frame_at is None else status.last_frame_at.isoformat(),
        }
        self.spool.set_state(self.key, json.dumps(payload))
        if status.drops and (previous is None or status.drops != previous.drops):
            logger.warning("%s dropped %d times, reconnected %d times", self.key, status.drops, status.reconnects)
        self.reported = status


def _counters(status: SourceStatus) -> tuple[str, int, int, int]:
    return (status.state, status.drops, status.reconnects, status.reconnect_attempts)
