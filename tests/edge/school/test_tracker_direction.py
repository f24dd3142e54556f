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


def test_touching_the_line_and_going_back_is_no_crossing() -> None:
    line = np.array([[0, 240], [640, 240]])
    path = np.array([[320, 300], [320, 240], [320, 300]], np.float32)  # the centre lands exactly on the line
    assert crossings(path, line).tolist() == [0, 0]
    through = np.array([[320, 300], [320, 240], [320, 200]], np.float32)  # ... or goes on through it
    assert crossings(through, line).tolist() == [0, 1]
    assert track_direction(path, DOOR, (640, 480)) == "unknown"


# A door seen along the passage (640x480): pupils coming in walk up the left half of the view, pupils going out walk
# down the right half; the entry line counts upward crossings of the left half, the exit line downward ones of the
# right half.
ENTRY = {"points": ((0.0, 0.5), (0.5, 0.5)), "towards": "up"}
EXIT = {"points": ((0.5, 0.5), (1.0, 0.5)), "towards": "down"}
UP_LEFT, DOWN_RIGHT = ([160] * 4, [400, 300, 200, 100]), ([480] * 4, [100, 200, 300, 400])
DOWN_LEFT, UP_RIGHT = ([160] * 4, [100, 200, 300, 400]), ([480] * 4, [400, 300, 200, 100])
TWO_LINES = {"entry_line": ENTRY, "exit_line": EXIT}


@pytest.mark.parametrize(
    ("door", "path", "sizes", "expected"),
    [
        (TWO_LINES, UP_LEFT, None, "entered"),
        (TWO_LINES, DOWN_RIGHT, None, "left"),
        (TWO_LINES, DOWN_LEFT, None, "unknown"),  # against the entry line's way: no evidence
        (TWO_LINES, UP_RIGHT, None, "unknown"),
        ({"entry_line": ENTRY}, DOWN_RIGHT, None, "unknown"),  # no exit line configured
        ({"exit_line": EXIT}, DOWN_RIGHT, None, "left"),
        (
            {"entry_line": {"points": ((0.5, 0.0), (0.5, 1.0)), "towards": "right"}},
            ([100, 300, 500], [240] * 3),
            None,
            "entered",
        ),
        (
            {"entry_line": {"points": ((0.5, 0.0), (0.5, 1.0)), "towards": "left"}},
            ([100, 300, 500], [240] * 3),
            None,
            "unknown",
        ),
        # a one-way camera: looking out of the school it only sees arriving faces, looking in only leaving ones
        ({"faces_seen": "entering"}, ([320] * 3, [200, 210, 220]), None, "entered"),
        ({"faces_seen": "leaving"}, ([320] * 3, [200, 210, 220]), None, "left"),
        ({**TWO_LINES, "faces_seen": "entering"}, DOWN_RIGHT, None, "left"),  # a crossed line outranks the facing
        # face growth along the passage: towards the camera is entering at this door
        ({"approach_growth": 1.3}, ([320] * 8, [240] * 8), [60, 62, 70, 75, 85, 90, 100, 104], "entered"),
        ({"approach_growth": 1.3}, ([320] * 8, [240] * 8), [104, 100, 90, 85, 75, 70, 62, 60], "left"),
        ({"approach_growth": 1.3}, ([320] * 8, [240] * 8), [80, 82, 79, 85, 84, 80, 83, 86], "unknown"),
        (
            {"approach_growth": 1.3, "approach": "left"},
            ([320] * 8, [240] * 8),
            [60, 62, 70, 75, 85, 90, 100, 104],
            "left",
        ),
        ({}, UP_LEFT, None, "unknown"),  # nothing configured
    ],
)
def test_entry_and_exit_lines(
    door: dict[str, object], path: tuple[list[float], list[float]], sizes: list[float] | None, expected: str
) -> None:
    config = DoorConfig.model_validate(door)
    points = np.stack(path, axis=1).astype(np.float32)
    assert track_direction(points, config, (640, 480), None if sizes is None else np.asarray(sizes)) == expected


@pytest.mark.parametrize(
    "door",
    [
        {"entry_line": {"points": ((0.2, 0.5), (0.2, 0.5)), "towards": "up"}},  # one point twice
        {"entry_line": {"points": ((0.0, 0.5), (1.5, 0.5)), "towards": "up"}},  # outside the frame
        {"entry_line": {"points": ((0.0, 0.5), (1.0, 0.5)), "towards": "inwards"}},
        {"approach_growth": 1.0},
    ],
)
def test_door_config_is_bounded(door: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DoorConfig.model_validate(door)


def test_tracks_record_face_sizes() -> None:
    tracker = IouTracker(IouTrackerConfig(min_hits=1))
    for i, side in enumerate((80, 84, 88)):
        tracker.update(faces((100, 100, 100 + side, 100 + side)), i)
    (track,), _ = tracker.flush()
    assert track.sizes == [80.0, 84.0, 88.0] and track.path.shape == (3, 2)
