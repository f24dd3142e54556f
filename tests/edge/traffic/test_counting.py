"""Counting-line crossings: hysteresis against jitter, flicker never counted, and the real clip against an eye
count (tests/data/traffic/ozlu_eye_count.json, with how it was counted)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge.tracking import ByteTracker, TrackerConfig
from edge.traffic.config import TrafficDeviceConfig
from edge.traffic.pipeline import count_crossings
from edge.traffic.stream import build_pipeline, read_frames, run_stream
from kuzet.commands.common import load_or_exit
from models.detections import Detections
from tests.conftest import REPO, require_data

LINE = np.array([[200.0, 250.0], [639.0, 250.0]])
EYE = json.loads((REPO / "tests" / "data" / "traffic" / "ozlu_eye_count.json").read_text())


def ys(*values: float, x: float = 400.0) -> np.ndarray:
    return np.column_stack([np.full(len(values), x), values])


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (ys(150, 200, 240, 260, 300), [(2, 1)]),  # downwards: left-to-right of p1->p2, after sample 2
        (ys(300, 260, 240, 200), [(1, -1)]),  # upwards: the other direction
        (ys(150, 200, 249, 252, 248, 253, 300), [(1, 1)]),  # jitter on the line: still one crossing
        (ys(240, 248, 252, 247, 253, 249), []),  # a box sitting on the line: never counted
        (ys(150, 200, 260, 300, 260, 200), [(1, 1), (4, -1)]),  # crosses and comes back
        (ys(150, 200, 260, 300, x=100.0), []),  # passes beside the end of the segment
        (ys(150, 200), []),
        (ys(), []),
    ],
)
def test_count_crossings_table(path: np.ndarray, expected: list[tuple[int, int]]) -> None:
    assert count_crossings(path, LINE, margin_px=4.0) == expected


def test_a_detector_flicker_on_the_line_is_not_a_crossing() -> None:
    """A false box that appears for one or two frames across the line never becomes a confirmed track."""
    tracker = ByteTracker(TrackerConfig(min_hits=3))
    paths: dict[int, list[np.ndarray]] = {}
    for k in range(30):
        boxes = [[380, 200 + k, 440, 240 + k]] if k in (10, 11) else []  # two frames, bottom moving over y = 250
        if k in (20,):
            boxes = [[380, 220, 440, 262]]
        out = tracker.update(Detections.build(np.array(boxes, np.float32).reshape(-1, 4), [0.95] * len(boxes)))
        for tid, point in zip(out.tracker_id.tolist(), out.bottom_center, strict=True):
            paths.setdefault(tid, []).append(point)
    assert paths == {}
    assert sum(len(count_crossings(np.array(p), LINE, 4.0)) for p in paths.values()) == 0


@pytest.mark.slow
def test_real_clip_count_matches_the_eye_count_and_ids_are_stable(samples: Path) -> None:
    clip = require_data("traffic/videos") / "ozlu_vehicle_counting.mp4"
    config = load_or_exit(samples / "traffic" / "ozlu.yaml", TrafficDeviceConfig).traffic
    plan = config.frame_plan.model_copy(update={"mode": "stride", "stride": 2})  # keeps the test < 45 s
    pipeline = build_pipeline(config.model_copy(update={"frame_plan": plan}))
    stats = run_stream(pipeline, read_frames(str(clip), start_time=0.0))
    crossing = [s for s in stats.summaries if s.crossings]
    assert len(crossing) == EYE["count"]
    # one id per vehicle: each counted track crosses once and spans the whole visible stretch of road
    for summary in crossing:
        assert len(summary.crossings) == 1
        ys_ = summary.view.image_xy[:, 1]
        assert ys_.min() < 190 and ys_.max() > 330, summary.view.track_id
    # and each crossing happens inside a vehicle's eye-count frame window (+- one contact-sheet step)
    frames_at = sorted(int(s.view.frame_index[s.crossings[0][2]]) for s in crossing)
    windows = [v["crossing_frames"] for v in EYE["vehicles"]]
    for frame, (start, stop) in zip(frames_at, windows, strict=True):
        assert start - 16 <= frame <= stop + 16
    speeds = [s.speed.speed_kmh for s in crossing]
    assert all(v is not None and 15.0 < v < 80.0 for v in speeds)  # plausible for a residential street
