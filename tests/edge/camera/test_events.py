"""The tamper monitor's changes as wire events: ``to_event`` and the agents' ``HealthReporter`` on real frames of the
bundled street clip, spooling into a real spool file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from edge.camera.config import CameraHealthConfig
from edge.camera.events import HealthReporter, to_event
from edge.camera.monitor import HealthChange
from edge.spool import Spool
from hardware.camera import Frame, SourceStatus, VideoFileSource
from kuzet.contracts import CameraHealthEvent, CameraHealthMeasures, CameraHealthState, ClockSource, EventBatch

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
CAMERA = "street-1"


def _frames(samples: Path, count: int) -> Iterator[Frame]:
    source = VideoFileSource(samples / "traffic" / "ozlu_vehicle_counting.mp4", start=T0)
    try:
        for frame in source:
            if frame.index >= count:
                return
            yield frame
    finally:
        source.close()


def test_to_event_round_trips_through_the_batch_json() -> None:
    change = HealthChange(
        state=CameraHealthState.MOVED,
        active=(CameraHealthState.MOVED, CameraHealthState.CLOCK_DRIFT),
        previous=CameraHealthState.HEALTHY,
        since=T0,
        at=T0 + timedelta(seconds=1.6),
        measures=CameraHealthMeasures(brightness=91.5, shift_px=19.2, rotation_deg=2.1),
        message="Camera view has moved from its reference",
    )
    event = to_event(change, CAMERA, ClockSource.NTP)
    again = to_event(change, CAMERA, ClockSource.NTP)
    assert event.event_id != again.event_id  # every change is a new event (ingest is idempotent by id)
    assert event.captured_at == change.at and event.since == change.since and event.clock_source == "ntp"
    batch = EventBatch.model_validate_json(EventBatch(events=(event,)).model_dump_json())
    (back,) = batch.events
    assert isinstance(back, CameraHealthEvent) and back == event
    assert back.kind == "camera_health" and back.state == "moved" and back.previous == "healthy"
    assert back.active == ("moved", "clock_drift") and back.measures.shift_px == pytest.approx(19.2)


def test_reporter_spools_one_event_per_change_for_a_covered_lens(samples: Path, tmp_path: Path) -> None:
    """Real frames, 6 s of them black (a hand over the lens) from 5 s: covered, then healthy again; one spooled
    event per change and nothing on the untouched seconds."""
    spool = Spool(tmp_path / "spool.sqlite")
    reporter = HealthReporter(CameraHealthConfig(), spool, CAMERA, ClockSource.FILE)
    changes: list[tuple[float, HealthChange]] = []
    for frame in _frames(samples, 24 * 16):
        seconds = (frame.captured_at - T0).total_seconds()
        image = np.zeros_like(frame.image) if 5.0 <= seconds < 11.0 else frame.image
        change = reporter.observe(image, frame.captured_at)
        if change is not None:
            changes.append((seconds, change))
    # black frames are also identical ones: frozen may join covered (a change of ``active``, so an event too)
    assert (changes[0][1].previous, changes[0][1].state) == ("healthy", "covered")
    assert all(c.state == "covered" for _, c in changes[:-1]) and changes[-1][1].state == "healthy"
    assert 5.0 < changes[0][0] <= 10.0 and 11.0 < changes[-1][0] <= 16.0  # raised and cleared within 5 s
    assert len({c.active for _, c in changes}) == len(changes)  # every event is a change, none repeats the last
    assert reporter.state == "healthy" and reporter.active == ()
    rows = spool.peek(100)
    spool.close()
    again = Spool(tmp_path / "spool.sqlite")  # it is on disk, not only in memory
    assert [r.event_id for r in again.peek(100)] == [r.event_id for r in rows]
    again.close()
    payloads = [json.loads(r.payload) for r in rows]
    assert [p["kind"] for p in payloads] == ["camera_health"] * len(changes)
    assert [p["state"] for p in payloads] == [c.state.value for _, c in changes]
    assert [r.event_id for r in rows] == [str(e.event_id) for e in reporter.events]
    assert payloads[0]["camera_id"] == CAMERA and payloads[0]["clock_source"] == "file"
    assert payloads[0]["captured_at"] == changes[0][1].at.isoformat().replace("+00:00", "Z")


def test_source_states_reach_the_monitor_once_and_an_ended_file_is_no_outage(samples: Path, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite")
    reporter = HealthReporter(CameraHealthConfig(), spool, CAMERA, ClockSource.FILE)
    assert reporter.observe_source(SourceStatus("connecting")) is None  # no frame yet: no time to judge it at
    last = T0
    for frame in _frames(samples, 24 * 4):
        reporter.observe(frame.image, frame.captured_at)
        reporter.observe_source(SourceStatus("streaming", frames=frame.index + 1))
        last = frame.captured_at
    assert reporter.events == []
    down = reporter.observe_source(SourceStatus("reconnecting", drops=1, last_error="read failed"))
    assert down is not None and down.state == "offline"
    assert reporter.observe_source(SourceStatus("reconnecting", drops=1, reconnect_attempts=2)) is None
    assert reporter.observe_source(SourceStatus("ended")) is None and reporter.state == "offline"
    assert [e.state for e in reporter.events] == ["offline"] and reporter.events[0].captured_at == last
    assert spool.depth() == 1
    spool.close()


def test_a_live_clock_far_from_the_device_clock_is_clock_drift(samples: Path, tmp_path: Path) -> None:
    """A live camera (RTC clock) whose frames are stamped hours away from the device's clock: the reporter hands the
    monitor the device time, and clock drift is raised (a file's own times are never compared)."""
    spool = Spool(tmp_path / "spool.sqlite")
    reporter = HealthReporter(CameraHealthConfig(), spool, CAMERA, ClockSource.RTC)
    for frame in _frames(samples, 24 * 4):
        reporter.observe(frame.image, frame.captured_at)
    assert [e.state for e in reporter.events] == ["clock_drift"] and spool.depth() == 1
    offset = reporter.events[0].measures.clock_offset_s
    assert offset is not None and abs(offset) > 3600
    spool.close()


def test_a_disabled_monitor_judges_nothing(samples: Path, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite")
    reporter = HealthReporter(CameraHealthConfig(enabled=False), spool, CAMERA, ClockSource.FILE)
    for frame in _frames(samples, 24 * 6):
        assert reporter.observe(np.zeros_like(frame.image), frame.captured_at) is None
    assert reporter.observe_source(SourceStatus("failed"), T0) is None
    assert reporter.monitor is None and reporter.state == "healthy" and spool.depth() == 0
    spool.close()
