"""The signals section end to end: real crops read per head by the real classifier, a real UDP NTCIP agent replaying
the controller, fused per head; the dark head the controller calls red is unknown, and no red-light fires on it."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from edge.traffic.signals import SignalRuntime, SignalsConfig
from hardware.signal import PhaseChange, SignalSource, SignalState, SignalTimeline
from hardware.signals import NtcipController
from models.lights import build_light_classifier
from tests.conftest import require_data
from tests.hardware.ntcip_agent import NtcipAgent

R, G, UNK = SignalState.RED, SignalState.GREEN, SignalState.UNKNOWN
MAIN, ARROW = (20, 10, 50, 76), (80, 10, 110, 76)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _real(shape: str, colour: str) -> NDArray[np.uint8]:
    root = require_data("traffic/lights")
    rows = csv.DictReader((root / "labels.csv").open())
    row = next(r for r in rows if r["split"] == "test" and r["shape"] == shape and r["colour"] == colour)
    return np.asarray(cv2.imread(str(root / row["image"])), dtype=np.uint8)


def _frame(main: NDArray[np.uint8], arrow: NDArray[np.uint8]) -> NDArray[np.uint8]:
    frame = np.full((120, 160, 3), 70, dtype=np.uint8)
    for (x1, y1, x2, y2), crop in ((MAIN, main), (ARROW, arrow)):
        frame[y1:y2, x1:x2] = cv2.resize(crop, (x2 - x1, y2 - y1), interpolation=cv2.INTER_AREA)
    return frame


def test_runtime_fuses_camera_heads_and_ntcip_controller() -> None:
    red, arrow = _real("round", "red"), _real("arrow", "green")
    dark = red[int(red.shape[0] * 0.45) :]  # the same head's unlit lamps: real pixels, no lamp lit
    clock = Clock()
    replay = {  # phase 2 drives the main head (red throughout), phase 5 the left arrow (green throughout)
        2: SignalTimeline([PhaseChange(0.0, R)], SignalSource.CONTROLLER),
        5: SignalTimeline([PhaseChange(0.0, G)], SignalSource.CONTROLLER),
    }
    with NtcipAgent(replay, clock) as agent:
        config = SignalsConfig.model_validate(
            {
                "camera": {
                    "heads": [{"id": "main", "roi": MAIN}, {"id": "left_arrow", "roi": ARROW, "shape": "arrow"}],
                    "min_consecutive": 2,
                },
                "controller": {"host": "127.0.0.1", "port": agent.port, "heads": {"main": 2, "left_arrow": 5}},
                "tolerance_s": 0.5,
                "stop_lines": {"stop": "main", "left_stop": "left_arrow"},
            }
        )
        runtime = SignalRuntime(config, build_light_classifier(), NtcipController(config.controller, clock))
        for k in range(30):  # 10 fps; the main head goes dark from 1.0 s to 2.0 s while the controller says red
            clock.t = 100.0 + k / 10
            if k % 2 == 0:
                assert runtime.controller is not None
                runtime.controller.poll()
            runtime.observe(_frame(dark if 10 <= k < 20 else red, arrow), clock.t)
    fusion = runtime.fusion
    assert fusion.state_at("main", 100.5) is R and fusion.reading_at("main", 100.5).source is SignalSource.CONTROLLER
    assert fusion.state_at("main", 101.5) is UNK
    assert fusion.state_at("main", 102.5) is R
    assert fusion.state_at("left_arrow", 101.5) is G
    assert fusion.for_line("left_stop").state_at(101.5) is G  # type: ignore[union-attr]
    assert [(d.head_id, d.controller, d.camera) for d in fusion.events] == [("main", R, SignalState.OFF)]
    assert fusion.disagreements == 1
    runtime.close()


def test_camera_heads_need_a_classifier() -> None:
    config = SignalsConfig.model_validate({"camera": {"roi": (0, 0, 5, 5)}})
    with pytest.raises(ValueError, match="need a light classifier"):
        SignalRuntime(config)
