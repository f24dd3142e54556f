"""Per-movement signal heads: several ROIs per camera, each read by the real classifier on real crops."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from hardware.signal import CameraSignalConfig, CameraSignalSource, SignalSource, SignalState
from models.lights import build_light_classifier
from tests.conftest import require_data

R, G, OFF = SignalState.RED, SignalState.GREEN, SignalState.OFF
MAIN, ARROW = (20, 10, 50, 76), (80, 10, 110, 76)
HEADS = CameraSignalConfig.model_validate(
    {
        "heads": [{"id": "main", "roi": MAIN}, {"id": "left_arrow", "roi": ARROW, "shape": "arrow"}],
        "min_consecutive": 2,
    }
)


def _crops(shape: str, colour: str, n: int) -> list[NDArray[np.uint8]]:
    root = require_data("traffic/lights")
    rows = csv.DictReader((root / "labels.csv").open())
    picked = [r for r in rows if r["split"] == "test" and r["shape"] == shape and r["colour"] == colour][:n]
    return [np.asarray(cv2.imread(str(root / r["image"])), dtype=np.uint8) for r in picked]


def _paste(frame: NDArray[np.uint8], roi: tuple[int, int, int, int], crop: NDArray[np.uint8]) -> None:
    x1, y1, x2, y2 = roi
    frame[y1:y2, x1:x2] = cv2.resize(crop, (x2 - x1, y2 - y1), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def real_heads() -> dict[str, list[NDArray[np.uint8]]]:
    red = _crops("round", "red", 4)
    return {"red": red, "dark": [img[int(img.shape[0] * 0.45) :] for img in red], "arrow": _crops("arrow", "green", 4)}


def test_two_heads_keep_their_own_timelines(real_heads: dict[str, list[NDArray[np.uint8]]]) -> None:
    source = CameraSignalSource(build_light_classifier(), HEADS)
    assert source.head_ids == ("main", "left_arrow") and source.primary == "main"
    for k in range(8):  # main red throughout; the left arrow green for 4 frames, then dark
        frame = np.full((120, 160, 3), 70, dtype=np.uint8)
        _paste(frame, MAIN, real_heads["red"][k % 4])
        _paste(frame, ARROW, real_heads["arrow"][k % 4] if k < 4 else real_heads["dark"][k % 4])
        states = source.observe_heads(frame, t=k * 0.1)
    assert states == {"main": R, "left_arrow": OFF}
    assert [(c.t, c.state) for c in source.timeline("main").changes] == [(0.0, R)]
    assert [(round(c.t, 1), c.state) for c in source.timeline("left_arrow").changes] == [(0.0, G), (0.4, OFF)]
    feed = source.feed("left_arrow")
    assert feed.source is SignalSource.CLASSIFIER and feed.timeline().state_at(0.2) is G


def test_config_forms_and_checks() -> None:
    legacy = CameraSignalConfig.model_validate({"roi": (1, 2, 3, 4), "min_consecutive": 2})
    assert [(h.id, h.roi, h.shape) for h in legacy.heads] == [("main", (1, 2, 3, 4), "round")]
    assert legacy.roi == (1, 2, 3, 4)
    with pytest.raises(ValueError, match="unique"):
        CameraSignalConfig.model_validate({"heads": [{"roi": (0, 0, 1, 1)}, {"roi": (0, 0, 2, 2)}]})
    with pytest.raises(ValueError, match="heads"):
        CameraSignalConfig.model_validate({"heads": []})
    with pytest.raises(KeyError, match="no signal head"):
        CameraSignalSource(build_light_classifier(), legacy).timeline("left_arrow")
