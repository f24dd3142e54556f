"""Near-miss tables under measurement noise: box jitter, clipped boxes, occlusion gaps, vehicles moving away, and
signals that are not a confident red. The scene is the shared junction approach plus a junction-entry line 30 px
past the stop line (y = 280 over n1 and n2) and, for vehicles moving away up lane s1, a stop line at y = 150 and an
entry line at y = 120 (beyond = above)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from edge.traffic.rules import evaluate_rules
from edge.traffic.rules.base import PhaseChange, SignalSource, SignalState, SignalTimeline, TrackView
from edge.traffic.scene import SceneConfig
from tests.edge.traffic.rules.conftest import HZ, SCENE, SIGNAL, T0

SCENE_J = SceneConfig.model_validate(
    {
        **SCENE.model_dump(),
        "lines": [
            *SCENE.model_dump()["lines"],
            {"id": "entry", "p1": (100, 280), "p2": (300, 280), "kind": "junction_entry", "lanes": ["n1", "n2"]},
            {"id": "stop-up", "p1": (0, 150), "p2": (100, 150), "kind": "stop", "beyond": "left", "lanes": ["s1"]},
            {"id": "entry-up", "p1": (0, 120), "p2": (100, 120), "kind": "junction_entry", "beyond": "left"},
        ],
    }
)


def box_track(
    waypoints: list[tuple[float, float, float]],
    *,
    jitter: float = 0.0,
    seed: int = 0,
    size: tuple[float, float] = (50.0, 40.0),
    gap: tuple[float, float] | None = None,
) -> TrackView:
    """A track of boxes whose bottom-centre follows ``(t - T0, x, y)`` waypoints at ``HZ``, each box edge jittered
    by ``jitter`` px (1-sigma), clipped to the 400x400 frame, with the samples inside ``gap`` (seconds) missing."""
    rng = np.random.default_rng(seed)
    times = np.array([w[0] for w in waypoints])
    t = np.arange(times[0], times[-1] + 1e-9, 1.0 / HZ)
    if gap is not None:
        t = t[(t < gap[0]) | (t >= gap[1])]
    x = np.interp(t, times, [w[1] for w in waypoints])
    y = np.interp(t, times, [w[2] for w in waypoints])
    w, h = size
    boxes = np.stack([x - w / 2, y - h, x + w / 2, y], axis=1) + rng.normal(0.0, jitter, (len(t), 4))
    boxes = np.clip(boxes, 0.0, 400.0)
    bottom = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]], axis=1)
    return TrackView(1, "car", True, t + T0, bottom, boxes_xyxy=boxes)


def kinds(track: TrackView, signal: Any = SIGNAL) -> list[str]:
    return [str(v.kind) for v in evaluate_rules([track], SCENE_J, signal)]


# signal: green from T0, amber at +10, red at +13, green at +40
STOPPED_BEFORE = [(10.0, 150.0, 100.0), (12.0, 150.0, 247.0), (25.0, 150.0, 247.0)]  # 3 px before the stop line
CREEP_OVER = [(10.0, 150.0, 100.0), (12.0, 150.0, 244.0), (16.0, 150.0, 244.0), (18.0, 150.0, 262.0), (25, 150, 262)]
RUNNER = [(13.0, 150.0, 100.0), (17.0, 150.0, 390.0)]


@pytest.mark.parametrize("seed", range(25))
def test_stopped_just_before_the_line_with_jitter_never_fires(seed: int) -> None:
    assert kinds(box_track(STOPPED_BEFORE, jitter=1.0, seed=seed)) == []


@pytest.mark.parametrize("seed", range(25))
def test_driving_beside_the_solid_line_with_jitter_never_fires(seed: int) -> None:
    # 4 px right of the solid centre line x = 100, down lane n1, 4 px jitter on every box edge
    assert kinds(box_track([(0.0, 104.0, 20.0), (5.0, 104.0, 390.0)], jitter=4.0, seed=seed)) == []


CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("creeps 18 px over the stop line on red and stands", {"waypoints": CREEP_OVER, "jitter": 1.0}, ["stop_line"]),
    (
        "stands 10 px over, short of the junction",
        {"waypoints": [(10.0, 150.0, 100.0), (12.5, 150.0, 260.0), (20, 150, 260)]},
        ["stop_line"],
    ),
    ("runs the red through the entry line, jittered", {"waypoints": RUNNER, "jitter": 2.0}, ["red_light"]),
    (
        "runs the red, lost for 0.8 s at the entry line",
        {"waypoints": RUNNER, "jitter": 1.0, "gap": (14.5, 15.3)},
        ["red_light"],
    ),
    ("crosses the entry line on amber", {"waypoints": [(9.0, 150.0, 100.0), (13.0, 150.0, 390.0)], "jitter": 1.0}, []),
    (
        "stands over the line, then enters on the same red",
        {"waypoints": [(10.0, 150.0, 100.0), (12.5, 150.0, 262.0), (16.0, 150.0, 262.0), (18.0, 150.0, 390.0)]},
        ["red_light"],
    ),
    (
        "leaves the frame beside the solid line, box clipped",
        {"waypoints": [(0.0, 110.0, 200.0), (3.0, 110.0, 460.0)], "jitter": 2.0},
        [],
    ),
    (
        "changes lanes over the solid line",
        {"waypoints": [(0.0, 130.0, 30.0), (1.0, 130.0, 60.0), (2.5, 70.0, 100.0), (4.0, 70.0, 120.0)], "jitter": 2.0},
        ["solid_line"],
    ),
    # moving away up lane s1: the front is the box top (40 px above the box bottom)
    (
        "moving away, stands with its front past the stop line",
        {"waypoints": [(10.0, 50.0, 390.0), (12.5, 50.0, 180.0), (20.0, 50.0, 180.0)], "size": (50.0, 40.0)},
        ["stop_line"],
    ),
    (
        "moving away, stands with its front before the stop line",
        {"waypoints": [(10.0, 50.0, 390.0), (12.5, 50.0, 197.0), (20.0, 50.0, 197.0)], "jitter": 1.0},
        [],
    ),
    (
        "moving away, runs the red",
        {"waypoints": [(13.0, 50.0, 390.0), (16.0, 50.0, 90.0)], "jitter": 1.0},
        ["red_light"],
    ),
]


@pytest.mark.parametrize(("name", "kwargs", "expected"), CASES, ids=[c[0] for c in CASES])
def test_noise_table(name: str, kwargs: dict[str, Any], expected: list[str]) -> None:
    assert kinds(box_track(**kwargs)) == expected, name


def test_red_light_needs_a_confident_red_on_the_lines_own_head() -> None:
    runner = box_track(RUNNER, jitter=1.0)
    red = SIGNAL.changes
    unknown = SignalTimeline([*red[:2], PhaseChange(T0 + 13, SignalState.UNKNOWN)], SignalSource.CONTROLLER)
    assert kinds(runner, unknown) == []  # a dark head, or a controller and a camera that disagree
    # per signal head: the lines name no head, so with two heads nobody guesses which one governs them
    assert kinds(runner, {"main": SIGNAL, "arrow": unknown}) == []
    assert kinds(runner, {"main": SIGNAL}) == ["red_light"]


def test_a_decision_carries_its_numbers() -> None:
    (v,) = evaluate_rules([box_track(RUNNER, jitter=1.0)], SCENE_J, SIGNAL)
    assert v.line_id == "entry" and v.signal_state is SignalState.RED and v.signal_source is SignalSource.CONTROLLER
    for key in ("red_for_s", "margin_px", "samples_before", "samples_after", "clear_before_px", "crossing_t"):
        assert key in v.details
    assert v.details["samples_before"] >= 3 and v.details["samples_after"] >= 3
    (s,) = evaluate_rules([box_track(CREEP_OVER, jitter=1.0)], SCENE_J, SIGNAL)
    assert s.details["stopped_s"] >= 1.0 and 10.0 < float(s.details["past_line_px"]) < 14.0
