"""Camera tamper monitor cost against the traffic pipeline's per-frame cost, in the same run (target: < 5 %).

The pipeline (decode -> detect -> track -> speed, every frame) runs on the street clip's first frames; the monitor
observes the same frames with their capture times (24 fps, so it analyses about one frame in five), from a recorded
baseline so every analysis is a full one (brightness, contrast, sharpness, flatness, frame difference, ORB + RANSAC).
Also reported: the cost of one analysis, the worst case when a slow camera makes every frame an analysed one.
Run with ``pytest tests/benchmarks/test_camera_health.py --benchmark-enable``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from edge.camera.baseline import record_baseline
from edge.camera.config import CameraHealthConfig
from edge.camera.monitor import CameraHealthMonitor
from edge.traffic.config import FramePlanConfig, TrafficDeviceConfig
from edge.traffic.stream import build_pipeline, read_frames, run_stream
from kuzet.commands.common import load_or_exit

FRAMES = 96
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _frames(clip: Path) -> tuple[list[np.ndarray], float]:
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = [capture.read()[1] for _ in range(FRAMES)]
    capture.release()
    return frames, fps


def _monitor_ms(frames: list[np.ndarray], fps: float, config: CameraHealthConfig) -> float:
    """Milliseconds per frame of ``observe`` over ``frames`` captured at ``fps``."""
    monitor = CameraHealthMonitor(config, record_baseline(frames[: int(3 * fps) : 5], config.analyse_width))
    begin = time.perf_counter()
    for index, frame in enumerate(frames):
        monitor.observe(frame, T0 + timedelta(seconds=index / fps))
    return 1000 * (time.perf_counter() - begin) / len(frames)


def test_monitor_cost_vs_traffic_pipeline(benchmark, report, samples: Path) -> None:
    clip = samples / "traffic" / "ozlu_vehicle_counting.mp4"
    device = load_or_exit(samples / "traffic" / "ozlu.yaml", TrafficDeviceConfig)
    config = device.traffic.model_copy(update={"frame_plan": FramePlanConfig(mode="every")})
    frames, fps = _frames(clip)
    health = CameraHealthConfig()
    every_frame = health.model_copy(update={"analyse_every_s": 1e-3})
    monitor_ms: list[float] = []
    analysis_ms: list[float] = []
    pipeline_ms: list[float] = []

    def monitor_rounds() -> None:  # untimed setup of each round: the monitor, interleaved with the pipeline
        monitor_ms.append(_monitor_ms(frames, fps, health))
        analysis_ms.append(_monitor_ms(frames, fps, every_frame))

    def run() -> None:
        stats = run_stream(build_pipeline(config), read_frames(str(clip), max_frames=FRAMES, start_time=0.0))
        assert stats.detector_frames == FRAMES
        pipeline_ms.append(1000 / stats.fps)

    benchmark.pedantic(run, setup=monitor_rounds, rounds=3, iterations=1)
    ours, worst, pipeline = (float(np.median(x)) for x in (monitor_ms, analysis_ms, pipeline_ms))
    report.append(
        f"camera health monitor on {FRAMES} frames of ozlu 640x352 @ {fps:.0f} fps: {ours:.2f} ms per frame"
        f" (one analysis every {health.analyse_every_s:g} s) vs traffic pipeline {pipeline:.1f} ms per frame"
        f" -> ratio {100 * ours / pipeline:.1f}% (target < 5%); one full analysis {worst:.2f} ms"
        f" = {100 * worst / pipeline:.1f}% if every frame were analysed (medians of 3 interleaved rounds)"
    )
    assert 0 < ours < worst
