"""Fusion of camera and controller per signal head: agreement, lag, disagreement -> unknown (no red light)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from edge.traffic.evidence import EvidenceConfig, EvidenceContext
from edge.traffic.rules import evaluate_rules
from edge.traffic.rules.base import RulesConfig
from edge.traffic.rules.stage import ViolationsConfig, ViolationStage
from edge.traffic.signals import SignalFusion, SignalsConfig, fuse, resolve
from hardware.signal import (
    CameraHeadFeed,
    CameraSignalConfig,
    CameraSignalSource,
    PhaseChange,
    ReplaySignalFeed,
    SignalSource,
    SignalState,
    SignalTimeline,
)
from kuzet.contracts import ClockSource
from models.lights import build_light_classifier
from tests.edge.traffic.rules.conftest import SCENE, SIGNAL, T0, make_track

R, A, G, OFF, UNK = (SignalState.RED, SignalState.AMBER, SignalState.GREEN, SignalState.OFF, SignalState.UNKNOWN)
CTRL, CAM = SignalSource.CONTROLLER, SignalSource.CLASSIFIER
CONFIG = SignalsConfig.model_validate(
    {
        "camera": {"heads": [{"id": "main", "roi": (0, 0, 10, 20)}]},
        "controller": {"host": "127.0.0.1", "heads": {"main": 2}},
        "tolerance_s": 0.6,
        "stop_lines": {"stop": "main"},
    }
)
RULES = RulesConfig()
RED_RUNNER = [(13.0, 150.0, 100.0), (17.0, 150.0, 380.0)]  # crosses the stop line about T0 + 15, red since T0 + 13


def camera(*changes: tuple[float, SignalState]) -> CameraHeadFeed:
    """The camera's head as it reads per frame (10 fps from T0, debounced): the states hold from each given time."""
    source = CameraSignalSource(build_light_classifier(), CameraSignalConfig.model_validate({"roi": (0, 0, 10, 20)}))
    timeline = SignalTimeline([PhaseChange(T0 + t, state) for t, state in changes], CAM)
    for k in range(600):
        source.observe_state(timeline.state_at(T0 + k / 10 + 1e-6), T0 + k / 10)
    return source.feed("main")


def fusion(cam: CameraHeadFeed | None, controller: ReplaySignalFeed | None = None) -> SignalFusion:
    ctrl = controller or ReplaySignalFeed(SIGNAL.changes)
    return SignalFusion(CONFIG, {"main": cam} if cam else {}, {"main": ctrl})


@pytest.mark.parametrize(
    ("controller", "cam", "state", "source"),
    [(R, R, R, CTRL), (R, UNK, R, CTRL), (UNK, G, G, CAM), (R, G, UNK, None), (R, OFF, UNK, None), (G, A, UNK, None)],
)
def test_resolve_table(controller: SignalState, cam: SignalState, state: SignalState, source: object) -> None:
    assert resolve(controller, cam) == (state, source)


def test_camera_lag_within_tolerance_keeps_the_controller() -> None:
    lagging = camera((0.2, G), (10.25, A), (13.3, R), (40.2, G))
    fused = fusion(lagging)
    assert fused.check(T0 + 60) == []
    timeline = fused.timeline("main")
    for t, state in [(5, G), (10.1, A), (13.1, R), (20, R), (40.1, G)]:
        assert timeline.state_at(T0 + t) is state, t
    assert fused.reading_at("main", T0 + 20).source is CTRL
    found = evaluate_rules([make_track(RED_RUNNER)], SCENE, fused.for_line("stop"), RULES)
    assert [v.kind for v in found] == ["red_light"]


def test_dark_head_while_controller_says_red_is_unknown_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    dark = camera((0.2, G), (10.25, A), (13.3, OFF), (20.0, R), (40.2, G))
    fused = fusion(dark)
    assert fused.state_at("main", T0 + 15) is UNK
    reading = fused.reading_at("main", T0 + 15)
    assert (reading.source, reading.controller, reading.camera) == (None, R, OFF)
    assert fused.state_at("main", T0 + 25) is R
    with caplog.at_level(logging.WARNING, logger="edge.traffic.signals"):
        new = fused.check(T0 + 60)
    assert [(d.head_id, d.start - T0, d.end - T0 if d.end else None) for d in new] == [("main", 13.0, 20.0)]
    assert "signal head main: controller red, camera off" in caplog.text
    assert fused.check(T0 + 61) == [] and fused.disagreements == 1 and len(fused.events) == 1
    assert evaluate_rules([make_track(RED_RUNNER)], SCENE, fused.for_line("stop"), RULES) == []
    assert [v.kind for v in evaluate_rules([make_track(RED_RUNNER)], SCENE, SIGNAL, RULES)] == ["red_light"]


def test_open_disagreement_is_unknown_but_logged_only_after_the_tolerance() -> None:
    fused = fusion(camera((0.0, G)))  # the camera keeps seeing green after the controller went amber
    assert fused.state_at("main", T0 + 10.2) is UNK
    assert fused.check(T0 + 10.3) == []
    assert len(fused.check(T0 + 10.7)) == 1


def test_controller_down_falls_back_to_the_camera_and_single_sources_pass_through() -> None:
    down = ReplaySignalFeed([PhaseChange(T0, G), PhaseChange(T0 + 12, UNK)])
    fused = fusion(camera((0.1, G), (10.2, A), (13.2, R)), down)
    assert fused.state_at("main", T0 + 20) is R
    assert fused.reading_at("main", T0 + 20).source is CAM
    assert fused.timeline("main").source_at(T0 + 20) is CAM
    only_controller = fusion(None)
    assert only_controller.state_at("main", T0 + 20) is R and only_controller.feed().source is CTRL


def test_fuse_merges_repeated_states() -> None:
    ctrl = SignalTimeline([PhaseChange(0.0, G), PhaseChange(10.0, R)], CTRL)
    cam = SignalTimeline([PhaseChange(0.1, G), PhaseChange(10.1, R)], CAM)
    changes, disagreements = fuse(ctrl, cam, 0.5, "main")
    assert disagreements == []
    assert [(c.t, c.state) for c in SignalTimeline(changes, CTRL).changes] == [(0.0, G), (10.0, R)]


def test_config_checks_head_names() -> None:
    with pytest.raises(ValueError, match="unknown signal heads"):
        SignalsConfig.model_validate({"camera": {"roi": (0, 0, 5, 5)}, "stop_lines": {"stop": "left_arrow"}})
    with pytest.raises(ValueError, match="needs camera heads or a controller"):
        SignalsConfig()
    with pytest.raises(KeyError, match="no signal head"):
        fusion(None).timeline("left_arrow")


def test_violation_stage_uses_the_fused_head(tmp_path: Path) -> None:
    dark = camera((0.2, G), (10.25, A), (13.3, OFF), (20.0, R), (40.2, G))
    config = ViolationsConfig(evidence=EvidenceConfig(chain_dir=tmp_path / "chain", key_dir=tmp_path / "keys"))
    context = EvidenceContext(camera_id="cam-fused", clock_source=ClockSource.FILE, calibration_version="v1")
    stage = ViolationStage(SCENE, config, context, fusion=fusion(dark))
    track = make_track(RED_RUNNER)
    for k, t in enumerate(track.t):
        stage.on_frame(np.full((400, 400, 3), 60, dtype=np.uint8), float(t), k)
    assert stage.signal() is not None and stage.signal().state_at(T0 + 15) is UNK  # type: ignore[union-attr]
    assert stage.prepare(track) is None  # the controller's red alone would have fired
