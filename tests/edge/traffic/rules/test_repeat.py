"""One offence, one fine: the second half of a broken track is not booked again for the same kind, while another
vehicle, another kind and a camera with the memory off still are."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from edge.traffic.rules import evaluate_rules
from edge.traffic.rules.base import RepeatConfig, RulesConfig, TrackView, ViolationKind
from edge.traffic.rules.repeat import OffenceMemory, continues
from tests.edge.traffic.rules.conftest import SCENE, SIGNAL, make_track

MPP = 0.3  # metres per pixel: 80 px of lane n1 = 24 m, more than the wrong-way rule's 15 m

# A car driving up lane n1 (which runs down) at 50 px/s = 10 m/s, lost behind a bus for 1 s in the middle.
FIRST = [(0.0, 150.0, 390.0), (2.0, 150.0, 290.0)]
SECOND = [(3.0, 150.0, 240.0), (5.0, 150.0, 140.0)]


def _track(waypoints: list[tuple[float, float, float]], track_id: int, calibrated: bool = True) -> TrackView:
    view = make_track(waypoints, track_id=track_id, metres_per_px=MPP if calibrated else None)
    half = np.array([20.0, 0.0])
    boxes = np.column_stack([view.image_xy - half - [0.0, 40.0], view.image_xy + half])  # 40 px high boxes
    return replace(view, boxes_xyxy=boxes)


@pytest.mark.parametrize(
    ("later", "calibrated", "linked"),
    [
        (SECOND, True, True),  # where the car would be after the gap
        (SECOND, False, True),  # the same in the image, within a box height
        ([(3.0, 150.0, 390.0), (5.0, 150.0, 290.0)], True, False),  # a second car entering where the first did
        ([(1.5, 150.0, 240.0), (3.5, 150.0, 140.0)], True, False),  # overlaps the first track in time
        ([(6.0, 150.0, 90.0), (7.0, 150.0, 40.0)], True, False),  # 4 s later: beyond the 3 s window
        ([(3.0, 250.0, 240.0), (5.0, 250.0, 140.0)], True, False),  # two lanes across
        ([(3.0, 250.0, 240.0), (5.0, 250.0, 140.0)], False, False),
    ],
)
def test_a_track_continues_the_earlier_one_only_where_the_vehicle_would_be(
    later: list[tuple[float, float, float]], calibrated: bool, linked: bool
) -> None:
    earlier = _track(FIRST, 1, calibrated)
    assert continues(earlier, _track(later, 2, calibrated), RepeatConfig()) is linked


def _judge(memory: OffenceMemory, view: TrackView) -> list[ViolationKind]:
    return [v.kind for v in memory.filter(view, evaluate_rules([view], SCENE, SIGNAL, RulesConfig()))]


def test_the_broken_track_is_booked_once_and_a_third_piece_too() -> None:
    memory = OffenceMemory(RepeatConfig())
    first, second = _track(FIRST, 1), _track(SECOND, 2)
    assert _judge(memory, first) == [ViolationKind.WRONG_WAY]
    assert evaluate_rules([second], SCENE, SIGNAL, RulesConfig())  # the rules alone would book it again
    assert _judge(memory, second) == []
    third = _track([(6.0, 150.0, 90.0), (7.6, 150.0, 10.0)], 3)
    assert evaluate_rules([third], SCENE, SIGNAL, RulesConfig())
    assert _judge(memory, third) == []
    assert memory.dropped == 2


def test_another_car_on_the_same_path_is_booked() -> None:
    memory = OffenceMemory(RepeatConfig())
    assert _judge(memory, _track(FIRST, 1)) == [ViolationKind.WRONG_WAY]
    follower = _track([(2.5, 150.0, 390.0), (4.5, 150.0, 290.0)], 2)
    assert _judge(memory, follower) == [ViolationKind.WRONG_WAY]


def test_only_the_kinds_already_booked_are_dropped() -> None:
    memory = OffenceMemory(RepeatConfig())
    first, second = _track(FIRST, 1), _track(SECOND, 2)
    memory.filter(first, evaluate_rules([first], SCENE, SIGNAL, RulesConfig()))
    found = evaluate_rules([second], SCENE, SIGNAL, RulesConfig())
    speeding = replace(found[0], kind=ViolationKind.SPEEDING)
    assert [v.kind for v in memory.filter(second, [*found, speeding])] == [ViolationKind.SPEEDING]


def test_with_the_memory_off_every_track_is_judged_alone() -> None:
    memory = OffenceMemory(RepeatConfig(enabled=False))
    assert _judge(memory, _track(FIRST, 1)) == [ViolationKind.WRONG_WAY]
    assert _judge(memory, _track(SECOND, 2)) == [ViolationKind.WRONG_WAY]


def test_the_later_half_judged_first_still_books_once() -> None:
    memory = OffenceMemory(RepeatConfig())
    assert _judge(memory, _track(SECOND, 2)) == [ViolationKind.WRONG_WAY]
    assert _judge(memory, _track(FIRST, 1)) == []
