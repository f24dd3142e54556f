"""IoU tracker (one pass = one track, tolerates missed frames) and door-line direction."""

from __future__ import annotations

import numpy as np
import pytest

from edge.school.config import DoorConfig, IouTrackerConfig
from edge.school.direction import crossings, track_direction
from edge.school.tracker import IouTracker, match_boxes
from models.detections import Detections


def faces(*boxes: tuple[float, float, float, float]) -> Detections:
    return Detections.build(np.asarray(boxes, np.float32).reshape(-1, 4), np.ones(len(boxes), np.float32))


def run(tracker: IouTracker, frames: list[Detections]) -> tuple[list[int], list[list[int]]]:
    finished: list[int] = []
    ids: list[list[int]] = []
    for i, dets in enumerate(frames):
        update = tracker.update(dets, i)
        ids.append(update.detections.tracker_id.tolist())
        finished += [t.track_id for t in update.finished]
    passes, _ = tracker.flush()
    return finished + [t.track_id for t in passes], ids


def walk(x0: float, n: int, step: float = 8.0, y: float = 100.0) -> list[tuple[float, float, float, float]]:
    return [(x0 + i * step, y, x0 + i * step + 80, y + 100) for i in range(n)]


def test_one_person_walking_is_one_track_with_gaps() -> None:
    boxes = walk(0, 30)
    frames = [faces(b) if i not in (10, 11, 12, 20) else faces() for i, b in enumerate(boxes)]
    passes, ids = run(IouTracker(IouTrackerConfig(max_missed=5, min_hits=3)), frames)
    assert passes == [1]
    assert {i for row in ids for i in row} == {1}


def test_two_people_and_a_flicker() -> None:
    a, b = walk(0, 20), walk(400, 20, step=-8.0, y=50)
    frames = [faces(a[i], b[i]) for i in range(20)]
    frames[5] = faces(a[5], b[5], (600, 400, 620, 420))  # a one-frame false face
    tracker = IouTracker(IouTrackerConfig(max_missed=2, min_hits=3))
    passes, ids = run(tracker, frames)
    assert sorted(passes) == [1, 2]
    assert all(row[:2] == [1, 2] for row in ids)


def test_long_gap_splits_into_two_passes_and_max_length_closes() -> None:
    boxes = walk(0, 30, step=1.0)
    frames = [faces(b) if not 10 <= i < 20 else faces() for i, b in enumerate(boxes)]
    passes, _ = run(IouTracker(IouTrackerConfig(max_missed=3, min_hits=3)), frames)
    assert len(passes) == 2
    still = [faces((10, 10, 90, 110))] * 25
    passes, _ = run(IouTracker(IouTrackerConfig(max_track_frames=10, min_hits=3)), still)
    assert len(passes) == 3  # 10 + 10 + 5 frames


@pytest.mark.parametrize(
    ("tracks", "dets", "expected"),
    [
        ([], [(0, 0, 10, 10)], ([], [])),
        ([(0, 0, 10, 10), (50, 50, 60, 60)], [(51, 51, 61, 61), (1, 1, 11, 11)], ([0, 1], [1, 0])),
        ([(0, 0, 10, 10)], [(30, 30, 40, 40)], ([], [])),
    ],
)
def test_match_boxes(
    tracks: list[tuple[int, ...]], dets: list[tuple[int, ...]], expected: tuple[list[int], ...]
) -> None:
    rows, cols = match_boxes(np.asarray(tracks, np.float32).reshape(-1, 4), np.asarray(dets, np.float32), 0.3)
    assert (rows.tolist(), cols.tolist()) == list(expected) or (rows.tolist(), cols.tolist()) == expected


DOOR = DoorConfig(line=((0.0, 0.5), (1.0, 0.5)), inside="left")  # horizontal line; "left" of a->b = top half


@pytest.mark.parametrize(
    ("ys", "xs", "expected"),
    [
        ([400, 300, 200, 100], [320] * 4, "entered"),  # bottom -> top: into the school
        ([100, 200, 300, 400], [320] * 4, "left"),
        ([100, 150, 180, 200], [320] * 4, "unknown"),  # never reaches the line
        ([300, 200, 300, 200], [320] * 4, "entered"),  # dithering: net one crossing upwards
        ([300, 200, 300], [320] * 3, "unknown"),  # up and back down: net zero
        ([400, 100], [-50, -50], "unknown"),  # crosses the line's extension, not the door
    ],
)
def test_direction(ys: list[float], xs: list[float], expected: str) -> None:
    path = np.stack([xs, ys], axis=1).astype(np.float32)
    assert track_direction(path, DOOR, (640, 480)) == expected
    flipped = DoorConfig(line=DOOR.line, inside="right")
    opposite = {"entered": "left", "left": "entered", "unknown": "unknown"}[expected]
    assert track_direction(path, flipped, (640, 480)) == opposite


def test_crossings_vectorised_and_no_line() -> None:
    path = np.array([[5, 0], [5, 10], [5, 0], [5, -10]], np.float32)
    assert crossings(path, np.array([[0, 5], [10, 5]])).tolist() == [-1, 1, 0]
    assert track_direction(path, DoorConfig(), (10, 10)) == "unknown"
    assert crossings(np.zeros((1, 2)), np.array([[0, 5], [10, 5]])).shape == (0,)
