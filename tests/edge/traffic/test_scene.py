"""Scene config validation and the vectorised geometry helpers."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import numpy as np
import pytest
from pydantic import ValidationError

from edge.traffic.scene import (
    Lane,
    LaneKind,
    Line,
    LineKind,
    SceneConfig,
    TimeWindow,
    crossing_times,
    in_window,
    lane_index,
    path_crossings,
    path_length,
    points_in_polygon,
    signed_distance,
)

SQUARE = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=np.float64)
HLINE = np.array([[0.0, 50.0], [100.0, 50.0]])  # p1 -> p2 to the right; "below" (y > 50) is its right side


def scene(**overrides: object) -> SceneConfig:
    base: dict[str, object] = {
        "image_size": (200, 200),
        "lanes": [
            {"id": "a", "polygon": [(0, 0), (100, 0), (100, 200), (0, 200)], "direction_deg": 90},
            {"id": "b", "polygon": [(100, 0), (200, 0), (200, 200), (100, 200)], "direction_deg": -90},
        ],
        "lines": [{"id": "stop", "p1": (0, 100), "p2": (100, 100), "kind": "stop", "lanes": ["a"]}],
    }
    base.update(overrides)
    return SceneConfig.model_validate(base)


@pytest.mark.parametrize(
    ("point", "inside"),
    [((5, 5), True), ((0.1, 9.9), True), ((11, 5), False), ((-1, 5), False), ((5, 10.5), False)],
)
def test_points_in_polygon_table(point: tuple[float, float], inside: bool) -> None:
    assert points_in_polygon(np.array([point], dtype=np.float64), SQUARE).tolist() == [inside]


def test_points_in_polygon_concave_and_empty() -> None:
    l_shape = np.array([[0, 0], [10, 0], [10, 4], [4, 4], [4, 10], [0, 10]], dtype=np.float64)
    pts = np.array([[2, 8], [8, 8], [8, 2]], dtype=np.float64)
    assert points_in_polygon(pts, l_shape).tolist() == [True, False, True]
    assert points_in_polygon(np.zeros((0, 2)), SQUARE).shape == (0,)


@pytest.mark.parametrize(
    ("path", "index", "direction"),
    [
        ([(50, 40), (50, 45), (50, 55), (50, 60)], [1], [1]),  # down across: left -> right of p1->p2
        ([(50, 60), (50, 55), (50, 45)], [1], [-1]),  # up across
        ([(150, 40), (150, 60)], [], []),  # beyond the segment's end: no crossing
        ([(50, 40), (50, 50), (50, 40)], [], []),  # touches the line and returns
        ([(50, 40), (50, 60), (50, 40), (50, 60)], [0, 1, 2], [1, -1, 1]),
        ([(50, 40)], [], []),
    ],
)
def test_path_crossings_table(path: list[tuple[float, float]], index: list[int], direction: list[int]) -> None:
    idx, sign = path_crossings(np.array(path, dtype=np.float64), HLINE)
    assert idx.tolist() == index
    assert sign.tolist() == direction


def test_crossing_time_is_interpolated() -> None:
    path = np.array([(50, 40), (50, 60)], dtype=np.float64)
    idx, _ = path_crossings(path, HLINE)
    assert crossing_times(np.array([10.0, 11.0]), path, HLINE, idx).tolist() == pytest.approx([10.5])


def test_signed_distance_and_length() -> None:
    d = signed_distance(np.array([[3, 53], [3, 40]], dtype=np.float64), HLINE)
    assert d.tolist() == pytest.approx([3.0, -10.0])
    assert path_length(np.array([[0, 0], [3, 4], [3, 10]], dtype=np.float64)) == pytest.approx(11.0)


def test_lane_index_and_direction() -> None:
    sc = scene()
    pts = np.array([[50, 50], [150, 50], [-5, 50]], dtype=np.float64)
    assert lane_index(pts, sc).tolist() == [0, 1, -1]
    assert sc.lane("a").direction == pytest.approx([0.0, 1.0])
    assert [b.id for b in sc.stop_lines] == ["stop"]
    assert sc.solid_lines == () and sc.counting_lines == ()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"lines": [{"id": "x", "p1": (0, 0), "p2": (0, 0), "kind": "stop"}]}, "p1 == p2"),
        ({"lines": [{"id": "x", "p1": (0, 0), "p2": (500, 0), "kind": "solid"}]}, "outside"),
        (
            {"lines": [{"id": "x", "p1": (0, 0), "p2": (5, 0), "kind": "stop", "lanes": ["zz"]}]},
            "unknown lanes",
        ),
        ({"lines": [{"id": "x", "p1": (0, 0), "p2": (5, 0), "kind": "wavy"}]}, "kind"),
        ({"signal_roi": (10, 10, 5, 5)}, "signal_roi"),
        ({"surprise": 1}, "Extra inputs"),
        (
            {
                "lanes": [
                    {"id": "a", "polygon": [(0, 0), (1, 0), (1, 1)], "direction_deg": 0},
                    {"id": "a", "polygon": [(0, 0), (1, 0), (1, 1)], "direction_deg": 0},
                ],
                "lines": [],
            },
            "duplicate lane ids",
        ),
    ],
)
def test_scene_rejects_bad_geometry(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        scene(**overrides)


def test_scene_is_frozen_and_kinds() -> None:
    sc = scene()
    with pytest.raises(ValidationError):
        sc.image_size = (1, 1)  # type: ignore[misc]
    assert sc.lines[0].kind is LineKind.STOP
    assert (
        Lane.model_validate({"id": "bus", "polygon": [(0, 0), (1, 0), (1, 1)], "direction_deg": 0, "kind": "bus"}).kind
        is LaneKind.BUS
    )
    assert Line.model_validate({"id": "s", "p1": (0, 0), "p2": (5, 0), "kind": "stop"}).beyond_sign == 1


TZ = timezone(timedelta(hours=5))


@pytest.mark.parametrize(
    ("window", "when", "inside"),
    [
        (TimeWindow(start=time(7), end=time(10)), datetime(2026, 11, 23, 8, 0, tzinfo=TZ), True),
        (TimeWindow(start=time(7), end=time(10)), datetime(2026, 11, 23, 10, 0, tzinfo=TZ), False),
        (
            TimeWindow(start=time(7), end=time(10), weekdays=(5, 6)),
            datetime(2026, 11, 23, 8, tzinfo=TZ),
            False,
        ),
        (TimeWindow(start=time(22), end=time(6)), datetime(2026, 11, 24, 2, 0, tzinfo=TZ), True),
        (TimeWindow(start=time(22), end=time(6), weekdays=(0,)), datetime(2026, 11, 24, 2, tzinfo=TZ), True),
        (TimeWindow(start=time(22), end=time(6), weekdays=(1,)), datetime(2026, 11, 24, 2, tzinfo=TZ), False),
    ],
)
def test_time_windows(window: TimeWindow, when: datetime, inside: bool) -> None:
    assert in_window((window,), when) is inside


def test_local_time_uses_offset() -> None:
    sc = scene(utc_offset_minutes=300)
    assert sc.local_time(0.0).hour == 5
    assert in_window((), sc.local_time(0.0))
