"""The traffic agent's frame loop on a live camera (``hardware.camera.StreamSource``): a dropped stream is
reconnected, samples carry the capture times the source stamps, and the drops reach the spool's health."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edge.camera.source_health import SourceHealth
from edge.spool import Spool
from edge.traffic.agent import HEALTH_KEY
from edge.traffic.config import FramePlanConfig
from edge.traffic.stream import run_stream
from hardware.camera import ReadAhead, SourceStatus, StreamConfig, StreamSource
from models.detections import Detections

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


class Capture:
    """A fake ``cv2.VideoCapture`` giving ``frames`` frames, then failing every read (the stream drops); one
    with no frames does not open (the camera is gone)."""

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.opens = frames > 0

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.opens

    def read(self) -> tuple[bool, Any]:
        if self.frames <= 0:
            return False, None
        self.frames -= 1
        return True, np.zeros((4, 6, 3), np.uint8)

    def get(self, prop_id: int) -> float:
        return 12.5

    def release(self) -> None:
        self.frames = 0


class Config:
    frame_plan = FramePlanConfig(mode="stride", stride=2)


class RecordingPipeline:
    """Stands in for ``TrafficPipeline``: records what the loop gives it."""

    config = Config()

    def __init__(self) -> None:
        self.steps: list[tuple[float, int, bool]] = []

    def step(self, frame: NDArray[np.uint8], t: float, index: int, detect: bool) -> Detections:
        self.steps.append((t, index, detect))
        return Detections.empty()

    def finished(self) -> list[Any]:
        return []

    def close(self) -> list[Any]:
        return []


def test_a_dropped_camera_is_reconnected_and_reported(tmp_path: Path) -> None:
    captures = [Capture(3), Capture(2)]
    ticks = iter(T0 + timedelta(seconds=0.08 * i) for i in range(100))
    config = StreamConfig(uri="rtsp://cam/1", backoff_initial_s=0.0, max_attempts=1, failed_reads_before_drop=1)
    source = StreamSource(
        config,
        opener=lambda uri: captures.pop(0) if captures else Capture(0),
        sleep=lambda s: None,
        now=lambda: next(ticks),
    )
    spool = Spool(tmp_path / "spool.sqlite")
    pipeline = RecordingPipeline()
    statuses: list[SourceStatus] = []
    health = SourceHealth(spool, HEALTH_KEY)

    def on_status(status: SourceStatus) -> None:
        statuses.append(status)
        health.update(status)

    stats = run_stream(pipeline, ReadAhead(source), on_status=on_status)  # type: ignore[arg-type]
    assert [i for _, i, _ in pipeline.steps] == [0, 1, 2, 3, 4]  # indices keep counting across the reconnect
    assert [d for _, _, d in pipeline.steps] == [True, False, True, False, True]
    assert [t for t, _, _ in pipeline.steps] == [(T0 + timedelta(seconds=0.08 * i)).timestamp() for i in range(5)]
    assert stats.frames == 5 and stats.detector_frames == 3
    assert stats.source is not None and stats.source.reconnects == 1 and stats.source.drops == 2
    assert statuses[-1] == stats.source
    stored = json.loads(spool.get_state(HEALTH_KEY) or "{}")
    assert stored["state"] == "failed" and stored["drops"] == 2 and stored["reconnects"] == 1
    spool.close()
