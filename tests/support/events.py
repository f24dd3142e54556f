"""Builders of valid wire events for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from kuzet.contracts import ClockSource, EntryEvent

T0 = datetime(2026, 9, 1, 2, 50, tzinfo=UTC)


def entry(camera_id: str = "door-1", n: int = 0, **fields: object) -> EntryEvent:
    """A valid EntryEvent, the n-th of a sequence (one second apart)."""
    base: dict[str, object] = {
        "event_id": uuid.uuid4(),
        "camera_id": camera_id,
        "captured_at": T0 + timedelta(seconds=n),
        "clock_source": ClockSource.NTP,
        "school_id": "school-1",
        "identity": "known",
        "pupil_id": f"p{n % 50}",
        "match_score": 0.9,
        "direction": "entered",
        "track_id": n,
    }
    base.update(fields)
    return EntryEvent.model_validate(base)
