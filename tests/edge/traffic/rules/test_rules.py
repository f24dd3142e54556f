"""Rule table: every rule fires on its case and stays silent on the near-misses next to it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from edge.traffic.rules import RULES, evaluate_rules
from edge.traffic.rules.base import RulesConfig, SignalSource, SignalState, TrackView, Violation
from tests.edge.traffic.rules.conftest import HZ, SCENE, SIGNAL, T0, make_track

DOWN_N1 = [(0.0, 150.0, 20.0), (4.0, 150.0, 380.0)]  # 90 px/s down lane n1

CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    # speeding: lane n1 limit 60 + tolerance 10; fires on speed - 2 sigma > 70
    ("speeding", {"waypoints": DOWN_N1, "speed": (85.0, 3.0)}, ["speeding"]),
    ("speed under limit+tolerance", {"waypoints": DOWN_N1, "speed": (75.0, 3.0)}, []),
    ("speed over only within its uncertainty", {"waypoints": DOWN_N1, "speed": (74.0, 2.5)}, []),
    ("speed too uncertain", {"waypoints": DOWN_N1, "speed": (120.0, 20.0)}, []),
    ("unconfirmed fast track", {"waypoints": DOWN_N1, "speed": (120.0, 2.0), "confirmed": False}, []),
    # red light: red from T0+13, grace 0.5 s; crossing y = 250
    ("red light", {"waypoints": [(13.0, 150.0, 100.0), (17.0, 150.0, 380.0)]}, ["red_light"]),
    ("crossed on amber", {"waypoints": [(9.0, 150.0, 100.0), (13.0, 150.0, 380.0)]}, []),
    ("crossed within the grace after amber", {"waypoints": [(12.0, 150.0, 180.0), (13.3, 150.0, 272.0)]}, []),
    ("crossed on green", {"waypoints": [(2.0, 150.0, 100.0), (6.0, 150.0, 380.0)]}, []),
    (
        "stopped before the line on red",
        {"waypoints": [(10.0, 150.0, 100.0), (12.0, 150.0, 240.0), (25.0, 150.0, 240.0)]},
        [],
    ),
    ("unconfirmed red runner", {"waypoints": [(13.0, 150.0, 100.0), (17.0, 150.0, 380.0)], "confirmed": False}, []),
    ("one-frame-ish red runner", {"waypoints": [(14.0, 150.0, 200.0), (14.3, 150.0, 300.0)]}, []),
    (
        "red runner in ungoverned bus lane",
        {"waypoints": [(13.0, 350.0, 100.0), (14.0, 350.0, 380.0)], "vehicle_class": "bus"},
        [],
    ),
    # stop line: crossed on amber, then halted 20 px past it through the red
    (
        "stopped past the line",
        {"waypoints": [(10.0, 150.0, 100.0), (12.0, 150.0, 270.0), (20.0, 150.0, 270.0)]},
        ["stop_line"],
    ),
    (
        "stopped past the line only on amber",
        {"waypoints": [(9.0, 150.0, 100.0), (10.5, 150.0, 270.0), (12.9, 150.0, 270.0)]},
        [],
    ),
    (
        "stopped past the line, ran the red",
        {"waypoints": [(13.0, 150.0, 100.0), (15.0, 150.0, 270.0), (20.0, 150.0, 270.0)]},
        ["red_light"],
    ),
    # solid line at x = 100 between s1 and n1; dashed at x = 200
    ("crossed the solid centre line", {"waypoints": [(0.0, 150.0, 50.0), (2.0, 80.0, 120.0)]}, ["solid_line"]),
    ("lane change on the dashed line", {"waypoints": [(0.0, 150.0, 50.0), (2.0, 250.0, 150.0)]}, []),
    (
        "jitter along the solid line",
        {"waypoints": [(0.0, 102.0, 20.0), (1.0, 98.0, 60.0), (2.0, 102.0, 100.0), (3.0, 98.0, 140.0)]},
        [],
    ),
    # wrong way: n1 goes down the image
    ("wrong way up lane n1", {"waypoints": [(0.0, 150.0, 230.0), (4.0, 150.0, 20.0)]}, ["wrong_way"]),
    ("short reverse", {"waypoints": [(0.0, 150.0, 200.0), (2.0, 150.0, 170.0)]}, []),
    ("legal travel up lane s1", {"waypoints": [(0.0, 50.0, 380.0), (4.0, 50.0, 20.0)]}, []),
    # bus lane: Mon-Fri 07:00-10:00 local; T0 is Monday 08:00
    ("car in the bus lane", {"waypoints": [(0.0, 350.0, 20.0), (4.0, 350.0, 380.0)]}, ["bus_lane"]),
    ("a bus in the bus lane", {"waypoints": [(0.0, 350.0, 20.0), (4.0, 350.0, 380.0)], "vehicle_class": "bus"}, []),
    ("car in the bus lane after hours", {"waypoints": [(3 * 3600.0, 350.0, 20.0), (3 * 3600.0 + 4, 350.0, 380.0)]}, []),
    ("car cutting across the bus lane", {"waypoints": [(0.0, 250.0, 20.0), (2.0, 390.0, 100.0)]}, []),
]


@pytest.mark.parametrize(("name", "kwargs", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rule_table(name: str, kwargs: dict[str, Any], expected: list[str]) -> None:
    found = evaluate_rules([make_track(**kwargs)], SCENE, SIGNAL, RulesConfig())
    assert [v.kind for v in found] == expected, name


def test_red_light_carries_the_signal_and_crossing() -> None:
    (v,) = evaluate_rules([make_track([(13.0, 150.0, 100.0), (17.0, 150.0, 380.0)])], SCENE, SIGNAL)
    assert v.signal_state is SignalState.RED
    assert v.signal_source is SignalSource.CONTROLLER
    assert v.line_id == "stop" and v.lane_id == "n1"
    assert v.t - T0 == pytest.approx(13.0 + 150.0 / 70.0, abs=1e-6)  # y 100 -> 250 at 70 px/s
    # judged at the last sample before the crossing (the earliest it can have happened), not the interpolated time
    assert 150.0 / 70.0 - 1.0 / HZ <= v.details["red_for_s"] <= 150.0 / 70.0


def test_no_signal_means_no_signal_rules() -> None:
    track = make_track([(13.0, 150.0, 100.0), (15.0, 150.0, 270.0), (20.0, 150.0, 270.0)])
    assert evaluate_rules([track], SCENE, None) == []


@pytest.mark.parametrize(("metres_per_px", "expected"), [(0.08, ["wrong_way"]), (0.05, [])])
def test_wrong_way_uses_metres_when_calibrated(metres_per_px: float, expected: list[str]) -> None:
    # 210 px up lane n1 is 16.8 m at 8 cm/px (>= 15 m) but 10.5 m at 5 cm/px
    track = make_track([(0.0, 150.0, 230.0), (4.0, 150.0, 20.0)], metres_per_px=metres_per_px)
    assert [v.kind for v in evaluate_rules([track], SCENE, SIGNAL)] == expected


def test_thresholds_come_from_config() -> None:
    track = make_track(DOWN_N1, speed=(75.0, 3.0))
    assert evaluate_rules([track], SCENE, SIGNAL, RulesConfig.model_validate({"speeding": {"sigma_factor": 0.0}}))
    slow_grace = RulesConfig.model_validate({"red_light": {"red_grace_s": 5.0}})
    assert evaluate_rules([make_track([(13.0, 150.0, 100.0), (17.0, 150.0, 380.0)])], SCENE, SIGNAL, slow_grace) == []
    only = RulesConfig(enabled=("wrong_way",))
    assert evaluate_rules([make_track(DOWN_N1, speed=(120.0, 1.0))], SCENE, SIGNAL, only) == []
    with pytest.raises(ValidationError):
        RulesConfig.model_validate({"speeding": {"sigma_factor": -1}})
    with pytest.raises(ValidationError):
        RulesConfig.model_validate({"enabled": ["jaywalking"]})


def test_lane_ids_from_the_tracker_override_polygons() -> None:
    base = make_track([(0.0, 150.0, 230.0), (4.0, 150.0, 20.0)])
    relabelled = TrackView(
        track_id=2, vehicle_class="car", confirmed=True, t=base.t, image_xy=base.image_xy, lane_ids=("s1",) * len(base)
    )
    assert evaluate_rules([relabelled], SCENE, SIGNAL) == []


def test_several_tracks_sorted_by_time_and_registry_complete() -> None:
    tracks = [
        make_track([(13.0, 150.0, 100.0), (17.0, 150.0, 380.0)], track_id=7),
        make_track([(0.0, 350.0, 20.0), (4.0, 350.0, 380.0)], track_id=8),
    ]
    found = evaluate_rules(tracks, SCENE, SIGNAL)
    assert [(v.track_id, v.kind) for v in found] == [(8, "bus_lane"), (7, "red_light")]
    assert set(RULES) == {"speeding", "red_light", "stop_line", "solid_line", "wrong_way", "bus_lane"}
    assert all(isinstance(v, Violation) for v in found)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"t": [0.0, 0.0], "image_xy": [[0, 0], [1, 1]]}, "strictly increasing"),
        ({"t": [0.0, 1.0], "image_xy": [[0, 0]]}, "image_xy has 1 rows"),
        ({"t": [0.0, 1.0], "image_xy": [[0, 0], [1, 1]], "lane_ids": ("a",)}, "lane_ids has 1"),
    ],
)
def test_trackview_validates_shapes(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrackView(track_id=1, vehicle_class="car", confirmed=True, **kwargs)


def test_registry_is_the_one_list_of_rules() -> None:
    from kuzet.contracts import ViolationKind

    assert set(RULES) == set(ViolationKind)
    assert RulesConfig().enabled == tuple(ViolationKind)
    assert RulesConfig.model_validate({"enabled": ["speeding"]}).enabled == (ViolationKind.SPEEDING,)


@pytest.mark.parametrize("language", ["en", "kk", "ru"])
def test_every_kind_has_notification_text(language: str) -> None:
    from pathlib import Path

    import yaml

    from kuzet.contracts import ViolationKind

    root = Path(__file__).resolve().parents[4] / "notifications" / "templates"
    texts = yaml.safe_load((root / f"{language}.yaml").read_text(encoding="utf-8"))["violations"]
    assert set(texts) == {k.value for k in ViolationKind}
