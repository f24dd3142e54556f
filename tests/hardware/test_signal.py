"""Signal phase: timeline look-ups, the controller replay driver, and the camera classifier source."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.traffic.rules.base import choose_signal
from hardware.signal import (
    CameraSignalConfig,
    CameraSignalSource,
    PhaseChange,
    ReplaySignalFeed,
    SignalSource,
    SignalState,
    SignalTimeline,
)
from models.lights import build_light_classifier
from tests.models.lights.test_classifier import signal_head

R, A, G = SignalState.RED, SignalState.AMBER, SignalState.GREEN
TIMELINE = SignalTimeline(
    [PhaseChange(10.0, A), PhaseChange(0.0, G), PhaseChange(13.0, R), PhaseChange(14.0, R)], SignalSource.CONTROLLER
)


@pytest.mark.parametrize(
    ("t", "state", "onset"),
    [(-1.0, SignalState.UNKNOWN, None), (0.0, G, 0.0), (9.99, G, 0.0), (10.0, A, 10.0), (20.0, R, 13.0)],
)
def test_timeline_lookups(t: float, state: SignalState, onset: float | None) -> None:
    assert TIMELINE.state_at(t) is state
    assert TIMELINE.onset_at(t) == onset


def test_timeline_merges_repeats_and_vectorises() -> None:
    assert [c.state for c in TIMELINE.changes] == [G, A, R]
    assert TIMELINE.states_at(np.array([-5.0, 5.0, 11.0, 30.0])).tolist() == ["unknown", "green", "amber", "red"]
    assert SignalTimeline([], SignalSource.CONTROLLER).states_at(np.array([1.0])).tolist() == ["unknown"]


def test_replay_feed_from_csv(tmp_path: Path) -> None:
    log = tmp_path / "phases.csv"
    log.write_text("t,state\n0,green\n10,amber\n13,RED\n")
    feed = ReplaySignalFeed.from_csv(log)
    assert feed.source is SignalSource.CONTROLLER
    assert feed.timeline().state_at(12.0) is A
    log.write_text("t,state\n0,green\n10,purple\n")
    with pytest.raises(ValueError, match=r"phases.csv:3: bad phase row"):
        ReplaySignalFeed.from_csv(log)


ROI = (20, 10, 50, 76)


def frame_showing(colour: str | None, seed: int) -> np.ndarray:
    frame = np.full((120, 160, 3), 90, dtype=np.uint8)
    if colour is not None:
        frame[ROI[1] : ROI[3], ROI[0] : ROI[2]] = signal_head(colour, ROI[2] - ROI[0], seed)[: ROI[3] - ROI[1]]
    return frame


def test_camera_source_debounces_real_classifier_labels() -> None:
    source = CameraSignalSource(build_light_classifier(), CameraSignalConfig(roi=ROI, min_consecutive=3))
    plan = ["green"] * 6 + ["red"] + ["green"] * 3 + ["yellow"] * 5 + ["red"] * 6
    states = [source.observe(frame_showing(c, k), t=k * 0.5) for k, c in enumerate(plan)]
    assert states[6] is G  # a single red frame is a glitch, not a phase
    assert states[-1] is R
    changes = [(c.t, c.state) for c in source.timeline().changes]
    assert changes == [(0.0, G), (5.0, A), (7.5, R)]
    assert source.timeline().source is SignalSource.CLASSIFIER


def test_camera_source_roi_outside_the_frame_is_unknown() -> None:
    source = CameraSignalSource(
        build_light_classifier(), CameraSignalConfig(roi=(500, 500, 520, 560), min_consecutive=1)
    )
    assert source.crop(frame_showing("red", 0)).size == 0
    assert source.observe(frame_showing("red", 0), 0.0) is SignalState.UNKNOWN


def test_controller_is_preferred_over_the_camera() -> None:
    camera = CameraSignalSource(build_light_classifier(), CameraSignalConfig(roi=ROI))
    controller = ReplaySignalFeed([PhaseChange(0.0, R)])
    assert choose_signal(controller, camera) is not None
    assert choose_signal(controller, camera).source is SignalSource.CONTROLLER  # type: ignore[union-attr]
    assert choose_signal(None, camera).source is SignalSource.CLASSIFIER  # type: ignore[union-attr]
    assert choose_signal(None, None) is None
