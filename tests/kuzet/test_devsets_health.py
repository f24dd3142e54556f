"""The ``kuzet eval health`` development set generator: same seed, same set; each tamper changes real frames only
inside its interval and in the way its state says; the labels follow the EVAL.md layout."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.camera.measures import sharpness, to_grey
from kuzet.devsets import health, plans, tampers
from tests.conftest import REPO

STREET = REPO / "samples" / "traffic" / "ozlu_vehicle_counting.mp4"


@pytest.fixture(scope="module")
def street_frame() -> np.ndarray:
    capture = cv2.VideoCapture(str(STREET))
    ok, frame = capture.read()
    capture.release()
    assert ok
    return frame


def test_the_full_plan_covers_every_state_and_kind_and_is_the_same_for_a_seed() -> None:
    names = ["street", "audience", "hamilton"]
    first = plans.plan(np.random.default_rng(3), names, per_bucket=1)
    again = plans.plan(np.random.default_rng(3), names, per_bucket=1)
    other = plans.plan(np.random.default_rng(4), names, per_bucket=1)
    key = [(s.name, s.state, s.start_s, s.end_s, s.detail) for s in first]
    assert key == [(s.name, s.state, s.start_s, s.end_s, s.detail) for s in again]
    assert key != [(s.name, s.state, s.start_s, s.end_s, s.detail) for s in other]
    tampered = [s for s in first if s.state is not None]
    assert {s.state for s in tampered} == {"covered", "defocused", "moved", "frozen"}
    tags = {s.tag for s in tampered}
    for kind in ("hand", "cloth", "cap", "partial", "blur", "mist", "shift", "rotation", "zoom", "gradual", "freeze"):
        assert any(kind in tag for tag in tags), kind
    for spec in tampered:  # a clean baseline before, room to clear after
        assert plans.BASELINE_ROOM_S[0] <= spec.start_s < spec.end_s <= spec.duration_s - plans.TAIL_S + 1e-6
    untouched = [s for s in first if s.state is None]
    assert {"untouched-hamilton-with-cuts", "untouched-street-sway", "untouched-audience-exposure"} <= {
        s.name for s in untouched
    }


def test_ping_pong_plays_forwards_and_back() -> None:
    assert health.ping_pong(4, 9, 0) == [0, 1, 2, 3, 2, 1, 0, 1, 2]
    assert health.ping_pong(4, 3, 5) == [1, 0, 1]


def test_the_small_set_writes_videos_and_labels(tmp_path: Path) -> None:
    summary = health.generate(tmp_path, seed=1, small=True)
    assert (summary.videos, summary.intervals) == (5, 4)
    with (tmp_path / "labels.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["state"] for r in rows] == ["covered", "defocused", "moved", "frozen"]
    assert {"video", "state", "start_s", "end_s", "tag"} <= set(rows[0])
    frames = health.frames_of(tmp_path / rows[0]["video"])  # the capped clip: 14 s at about 12 fps
    fps = len(frames) / 14.0
    assert 11.5 < fps < 12.5 and frames[0].shape[1] == health.SMALL_WIDTH
    assert frames[int(2 * fps)].mean() > 40 and frames[int(6 * fps)].mean() < 15  # dark only while capped
    assert frames[int(12 * fps)].mean() > 40


@pytest.mark.parametrize(
    ("name", "tamper", "check"),
    [
        ("hand", tampers.hand(1.2, (90, 120, 165), np.random.default_rng(0), ramp_s=0.0), "flat"),
        ("cloth", tampers.cloth((40, 80, 120), 1.0, np.random.default_rng(0)), "flat"),
        ("blur", tampers.blur(0.01), "blurred"),
        ("mist", tampers.mist(0.5, 0.005, np.random.default_rng(0)), "blurred"),
        ("shift", tampers.warp(0.05, 0.0, 0.0, 1.0), "shifted"),
    ],
)
def test_tampers_change_real_frames_as_their_state_says(
    street_frame: np.ndarray, name: str, tamper: tampers.Tamper, check: str
) -> None:
    out = tamper(street_frame, 5.0)
    assert out.shape == street_frame.shape and out.dtype == np.uint8
    before, after = to_grey(street_frame, 320), to_grey(out, 320)
    if check == "flat":
        assert sharpness(after) < 0.1 * sharpness(before), name
    elif check == "blurred":
        assert sharpness(after) < 0.4 * sharpness(before), name
    else:  # the picture moved by 5 % of the width: 32 px at 640
        assert np.abs(out[:, 40:-40].astype(int) - street_frame[:, 8:-72].astype(int)).mean() < 3.0


def test_a_gradual_turn_reaches_its_full_angle_after_its_ramp(street_frame: np.ndarray) -> None:
    turn = tampers.warp(0.0, 0.0, 4.0, 1.0, ramp_s=2.0)
    full = tampers.warp(0.0, 0.0, 4.0, 1.0)(street_frame, 0.0)
    half = tampers.warp(0.0, 0.0, 2.0, 1.0)(street_frame, 0.0)
    assert np.array_equal(turn(street_frame, 3.0), full)
    assert np.array_equal(turn(street_frame, 1.0), half)
    assert np.array_equal(turn(street_frame, 0.0), tampers.warp(0.0, 0.0, 0.0, 1.0)(street_frame, 0.0))


def test_a_freeze_repeats_its_first_frame_with_re_encoding_noise(street_frame: np.ndarray) -> None:
    freeze = tampers.freeze((80, 90), 1.0, np.random.default_rng(0))
    first = freeze(street_frame, 0.0)
    later = freeze(np.zeros_like(street_frame), 1.0)  # whatever the camera now sees
    assert not np.array_equal(first, later)
    assert np.abs(first.astype(int) - later.astype(int)).mean() < 3.0
    assert np.abs(later.astype(int) - street_frame.astype(int)).mean() < 4.0
