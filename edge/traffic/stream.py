"""The traffic frame loop: frames from ``hardware.camera`` under the frame plan, through the pipeline.

Frame plan on 2 cores: the decoder thread overlaps frame decoding with inference (onnxruntime and OpenCV release
the GIL); in ``realtime`` mode the detector runs whenever the pipeline is no more than ``slack_frames`` behind the
camera clock, otherwise the tracker's Kalman prediction carries the frame, so the agent keeps pace with the
camera and no track is dropped for lack of time (a lost track survives ``lost_buffer`` detector frames).

Trade-off measured (tests/benchmarks/test_traffic.py, 2 cores shared with other work, load average ~10): YOLOv8n
alone ran 6.9 fps at intra_op=1 and 4.2 fps at intra_op=2 (two threads lose under contention; 1 is the default),
so no 2-core box detects every frame of a 25 fps camera. On the whole ozlu clip (24 fps, 905 frames) the realtime
plan kept pace (24.0 fps processed, 37.8 s for the 37.7 s clip) with the detector on 34% of frames and counted
all 8 vehicles of the eye count, one id each, as did stride 2 and every-frame detection. Fewer detector frames
mean fewer road samples per track (a wider speed uncertainty) and a later confirmation (``min_hits`` detector
frames), not lost vehicles, as long as a vehicle stays in view for several detector frames.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from edge.traffic.calibration import Calibration
from edge.traffic.config import FramePlanConfig, TrafficConfig
from edge.traffic.pipeline import TrackSummary, TrafficPipeline
from edge.traffic.plates_stage import TrackPlateResult
from edge.traffic.rules.base import Violation
from hardware.camera import FrameSource, ReadAhead, SourceStatus, open_source
from kuzet.contracts import CameraHealthEvent, ClockSource
from models.detections import Detections
from models.vehicles.detector import build_vehicle_detector

FrameHook = Callable[[NDArray[np.uint8], float, int, Detections], None]


def read_frames(
    source: str | Path,
    max_frames: int | None = None,
    queue_size: int = 8,
    start_time: float | None = None,
    clock_source: ClockSource = ClockSource.FILE,
) -> ReadAhead:
    """The camera's frames (``hardware.camera``), decoded on a background thread.

    Args:
        source: a video file, or a stream URL / USB index (reconnected after a drop).
        max_frames: stop after this many frames.
        queue_size: frames decoded ahead.
        start_time: Unix time of a file's frame 0 (default: the file's modification time).
        clock_source: the clock that stamps a live camera's frames.

    Raises:
        FrameSourceError: a video file that is missing or cannot be decoded.
    """
    start = datetime.fromtimestamp(start_time, UTC) if start_time is not None else None
    return ReadAhead(open_source(source, clock_source, start), queue_size, max_frames)


class FramePlanner:
    """Decides per frame whether the detector runs (see ``FramePlanConfig``)."""

    def __init__(self, config: FramePlanConfig, source_fps: float) -> None:
        self.config = config
        self.period = 1.0 / (config.camera_fps or source_fps)
        self.start: float | None = None

    def detect(self, frame_index: int) -> bool:
        """True when this frame should get the detector."""
        if self.config.mode == "every":
            return True
        if self.config.mode == "stride":
            return frame_index % self.config.stride == 0
        now = time.perf_counter()
        if self.start is None:
            self.start = now
        behind = (now - self.start) / self.period - frame_index
        return behind <= self.config.slack_frames


@dataclass(slots=True)
class RunStats:
    """What one run did."""

    frames: int = 0
    detector_frames: int = 0
    seconds: float = 0.0
    summaries: list[TrackSummary] = field(default_factory=list)
    plates: dict[int, TrackPlateResult] = field(default_factory=dict)
    violations: list[tuple[Violation, Path]] = field(default_factory=list)
    alerts: int = 0
    plate_seconds: float = 0.0
    source: SourceStatus | None = None  # the frame source's health at the end (drops, reconnects)
    health: list[CameraHealthEvent] = field(default_factory=list)  # the tamper monitor's changes, as spooled
    withheld: int = 0  # violations not issued while the camera's view could not be trusted

    @property
    def fps(self) -> float:
        """Frames processed per second of wall time."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def build_pipeline(config: TrafficConfig) -> TrafficPipeline:
    """Detector (through a Runner), tracker and calibration from the traffic config."""
    detector = build_vehicle_detector(config.detector, config.runner)
    calibration = Calibration(config.calibration) if config.calibration is not None else None
    return TrafficPipeline(detector, config, calibration)


def run_stream(
    pipeline: TrafficPipeline,
    source: FrameSource,
    on_track: Callable[[TrackSummary], None] | None = None,
    on_frame: FrameHook | None = None,
    on_status: Callable[[SourceStatus], None] | None = None,
) -> RunStats:
    """Run the pipeline over a source's frames under the configured frame plan; closes the source.

    Args:
        pipeline: a fresh pipeline.
        source: the frames; each one's sample time is its capture time, its index the source's frame number,
            and the frame plan runs at the source's frame rate unless the config names the camera's.
        on_track: called with each finished track as soon as it ends.
        on_frame: called with every frame, its time, index and confirmed tracks, before that frame's
            finished tracks reach ``on_track``.
        on_status: called with the source's health after every frame and at the end (drops, reconnects).
    """
    planner: FramePlanner | None = None
    stats = RunStats()
    begin = time.perf_counter()

    def finish(summaries: list[TrackSummary]) -> None:
        stats.summaries.extend(summaries)
        for summary in summaries:
            if on_track is not None:
                on_track(summary)

    try:
        for frame in source:
            planner = planner or FramePlanner(pipeline.config.frame_plan, source.fps)  # a stream knows it now
            detect = planner.detect(frame.index)
            t = frame.captured_at.timestamp()
            tracked = pipeline.step(frame.image, t, frame.index, detect)
            if on_frame is not None:
                on_frame(frame.image, t, frame.index, tracked)
            stats.frames += 1
            stats.detector_frames += int(detect)
            finish(pipeline.finished() if detect else [])
            if on_status is not None:
                on_status(source.status())
    finally:
        source.close()
    stats.source = source.status()
    if on_status is not None:
        on_status(stats.source)
    finish(pipeline.close())
    stats.seconds = time.perf_counter() - begin
    return stats
