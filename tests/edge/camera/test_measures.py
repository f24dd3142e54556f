"""The monitor's frame measures on real frames of the street clip, with known tampering applied."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge.camera.measures import (
    brightness_contrast,
    coarse,
    estimate_motion,
    flat_fraction,
    layout,
    mean_abs_diff,
    orb_features,
    phase_shift,
    sharpness,
    to_grey,
)
from tests.edge.camera.clips import blur, cap, hand, jpeg, rotate, sampled, shift


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    return sampled("ozlu")[10][1]


def test_to_grey_downscales_to_the_width_and_never_upscales(frame: np.ndarray) -> None:
    grey = to_grey(frame, 320)
    assert grey.shape == (176, 320) and grey.dtype == np.uint8
    assert to_grey(frame, 2000).shape == frame.shape[:2]


@pytest.mark.parametrize(
    ("tamper", "max_brightness", "max_contrast"),
    [(cap, 4.0, 2.0), (hand(1.3), 110.0, 20.0)],
    ids=["cap", "hand"],
)
def test_a_cover_collapses_contrast(frame: np.ndarray, tamper, max_brightness: float, max_contrast: float) -> None:
    brightness, contrast = brightness_contrast(to_grey(frame, 320))
    assert 60.0 < brightness < 160.0 and contrast > 40.0
    covered = brightness_contrast(to_grey(tamper(frame), 320))
    assert covered[0] < max_brightness and covered[1] < max_contrast


@pytest.mark.parametrize(("sigma", "max_ratio"), [(1.5, 0.5), (3.0, 0.15), (6.0, 0.05)])
def test_sharpness_falls_with_blur(frame: np.ndarray, sigma: float, max_ratio: float) -> None:
    sharp = sharpness(to_grey(frame, 320))
    assert sharpness(to_grey(blur(sigma)(frame), 320)) / sharp < max_ratio


def test_flat_fraction_of_a_scene_and_of_a_hand(frame: np.ndarray) -> None:
    assert flat_fraction(to_grey(frame, 320), 16, 1.5) < 0.05
    assert flat_fraction(to_grey(hand(1.3)(frame), 320), 16, 1.5) > 0.8
    assert flat_fraction(np.zeros((10, 10), np.uint8), 16, 1.5) == 0.0


def test_reencoding_noise_is_below_the_frozen_threshold_and_motion_above(frame: np.ndarray) -> None:
    a, b = coarse(to_grey(jpeg(frame, 85), 320), 80), coarse(to_grey(jpeg(frame, 95), 320), 80)
    assert mean_abs_diff(a, b) < 0.3
    later = coarse(to_grey(sampled("ozlu")[15][1], 320), 80)
    assert mean_abs_diff(a, later) > 0.5
    assert math.isinf(mean_abs_diff(a, coarse(to_grey(frame, 160), 40)))


@pytest.mark.parametrize(
    ("tamper", "dx", "rotation"),
    [(shift(0.03), 19.2, 0.0), (shift(-0.05), -32.0, 0.0), (rotate(2.0), 0.0, -2.0), (rotate(-1.5), 0.0, 1.5)],
    ids=["shift-3%", "shift-minus-5%", "rotate-2", "rotate-minus-1.5"],
)
def test_motion_recovers_a_known_shift_or_rotation(frame: np.ndarray, tamper, dx: float, rotation: float) -> None:
    reference = to_grey(frame, 320)
    moved = to_grey(tamper(frame), 320)
    motion = estimate_motion(orb_features(reference, 600), orb_features(moved, 600), (320, 176), 2.0)
    assert motion is not None and motion.inliers >= 50
    assert motion.dx == pytest.approx(dx, abs=1.5) and abs(motion.dy) < 1.5
    assert motion.rotation_deg == pytest.approx(rotation, abs=0.2) and motion.scale == pytest.approx(1.0, abs=0.01)


def test_motion_of_an_unrelated_or_empty_picture_is_untrusted(frame: np.ndarray) -> None:
    reference = orb_features(to_grey(frame, 320), 600)
    flat = orb_features(np.full((176, 320), 90, np.uint8), 600)
    assert len(flat.points) == 0 and estimate_motion(reference, flat, (320, 176), 2.0) is None
    noise = np.random.default_rng(1).integers(0, 255, (176, 320), dtype=np.uint8)
    motion = estimate_motion(reference, orb_features(noise, 600), (320, 176), 2.0)
    assert motion is None or motion.inliers < 15


@pytest.mark.parametrize(
    ("tamper", "dx", "min_response", "max_response"),
    [
        (shift(0.04), 6.4, 0.3, 2.0),  # 4% of 160 px: the scene found where it went
        (lambda f: (f * 0.5 + 110).astype(np.uint8), 0.0, 0.45, 2.0),  # a pale veil: still the scene, in place
        (hand(1.3), None, -1.0, 0.25),  # a hand over the lens: no peak
    ],
    ids=["shift-4%", "veil", "hand"],
)
def test_phase_shift_finds_the_scene_under_a_veil_and_not_under_a_hand(
    frame: np.ndarray, tamper, dx: float | None, min_response: float, max_response: float
) -> None:
    reference = layout(to_grey(frame, 320), 160, 4.0)
    kept = reference.copy()
    found = phase_shift(layout(to_grey(tamper(frame), 320), 160, 4.0), reference)
    assert np.array_equal(reference, kept)  # OpenCV windows its inputs in place: the reference must not change
    assert min_response <= found.response <= max_response
    if dx is not None:
        assert found.dx == pytest.approx(dx, abs=1.0) and abs(found.dy) < 1.0
    assert phase_shift(reference[:, :100], reference).response == 0.0
