"""Speed from road-plane positions: synthetic tracks on a known homography recover the speed within 3%."""

from __future__ import annotations

import numpy as np
import pytest

from edge.traffic.calibration import Calibration, CalibrationConfig
from edge.traffic.speed import SpeedConfig, estimate_speed, speed_from_track
from tests.edge.traffic.test_calibration import config_for, pinhole_road_to_image, project

FPS = 25.0


def synthetic_track(
    speed_kmh: float, heading_deg: float, noise_px: float, outliers: int, seed: int
) -> tuple[np.ndarray, np.ndarray, Calibration]:
    """A vehicle at constant speed on the road, seen through a known camera, measured with pixel noise.

    Returns:
        (T,) times, (T, 2) road positions recovered through a calibration fitted from a noisy survey, and it.
    """
    rng = np.random.default_rng(seed)
    h = pinhole_road_to_image()
    speed = speed_kmh / 3.6
    duration = min(2.0, 30.0 / max(speed, 1e-3))
    t = np.arange(0.0, duration, 1.0 / FPS)
    heading = np.radians(heading_deg)
    road = np.array([-1.0, 8.0]) + np.outer(t * speed, [np.sin(heading), np.cos(heading)])
    image = project(h, road) + rng.normal(0.0, noise_px, road.shape)
    bad = rng.choice(len(t), size=outliers, replace=False)
    image[bad] += rng.choice([-1, 1], size=(outliers, 2)) * rng.uniform(15, 40, (outliers, 2))  # box glitches
    calibration = Calibration(config_for(h, noise_px=0.3, seed=seed))
    return t, calibration.to_road(image), calibration


@pytest.mark.parametrize(
    ("speed_kmh", "heading_deg", "noise_px", "outliers"),
    [
        (10.0, 0.0, 0.5, 0),
        (30.0, 0.0, 0.5, 0),
        (50.0, 0.0, 1.0, 3),
        (50.0, 8.0, 1.0, 5),  # changing lanes
        (60.0, 180.0, 1.0, 5),  # driving towards the camera
        (90.0, 0.0, 1.0, 5),
        (130.0, 3.0, 1.0, 3),
        (40.0, 30.0, 1.5, 8),
    ],
)
def test_synthetic_tracks_recover_speed_within_3_percent(
    speed_kmh: float, heading_deg: float, noise_px: float, outliers: int
) -> None:
    for seed in range(3):
        t, road, _ = synthetic_track(speed_kmh, heading_deg, noise_px, outliers, seed)
        estimate = estimate_speed(t, road, SpeedConfig())
        assert estimate.status == "ok" and estimate.speed_kmh is not None and estimate.sigma_kmh is not None
        assert abs(estimate.speed_kmh - speed_kmh) / speed_kmh < 0.03, (seed, estimate)
        assert estimate.used >= 0.75 * (estimate.total - outliers)  # good samples are mostly kept
        assert 0 < estimate.sigma_kmh < 0.05 * speed_kmh + 0.5


def test_uncertainty_grows_with_noise() -> None:
    sigmas = []
    for noise in (0.3, 3.0):
        t, road, _ = synthetic_track(50.0, 0.0, noise, 0, 1)
        sigma = estimate_speed(t, road, SpeedConfig()).sigma_kmh
        assert sigma is not None
        sigmas.append(sigma)
    assert sigmas[0] < sigmas[1]


@pytest.mark.parametrize(
    ("speed_kmh", "samples", "config", "status"),
    [
        (300.0, 50, SpeedConfig(cap_kmh=200.0), "implausible"),  # above the cap: refused, never reported
        (50.0, 4, SpeedConfig(), "too_few_samples"),
        (50.0, 8, SpeedConfig(min_duration_s=1.0), "too_short"),
        (50.0, 0, SpeedConfig(), "too_few_samples"),
    ],
)
def test_no_estimate_cases(speed_kmh: float, samples: int, config: SpeedConfig, status: str) -> None:
    t = np.arange(samples) / FPS
    road = np.column_stack([np.zeros(samples), t * speed_kmh / 3.6])
    estimate = estimate_speed(t, road, config)
    assert estimate.status == status and estimate.speed_kmh is None and estimate.sigma_kmh is None


def test_only_the_latest_window_is_used() -> None:
    t = np.arange(100) / FPS  # 4 s: 20 km/h, then 60 km/h for the last 2 s
    y = np.where(t < 2.0, t * 20 / 3.6, 2.0 * 20 / 3.6 + (t - 2.0) * 60 / 3.6)
    estimate = estimate_speed(t, np.column_stack([np.zeros_like(t), y]), SpeedConfig(window_s=1.5))
    assert estimate.speed_kmh == pytest.approx(60.0, rel=0.01)


def _survey_track(
    speed_kmh: float, scale_error: float, lost: float, seed: int, scale_sigma: float = 0.05
) -> tuple[np.ndarray, np.ndarray, CalibrationConfig]:
    """Capture times and box bottom-centres of a car at constant speed (1 px jitter, a share of frames lost),
    and a survey whose length reference is off by ``scale_error`` (declared with ``scale_sigma``)."""
    rng = np.random.default_rng(seed)
    h = pinhole_road_to_image()
    t = np.arange(0.0, 2.0, 1.0 / FPS)
    t = np.sort(rng.choice(t, size=round(len(t) * (1 - lost)), replace=False))
    road = np.array([0.5, 10.0]) + np.outer(t * speed_kmh / 3.6, [0.0, 1.0])
    image = project(h, road) + rng.normal(0.0, 1.0, road.shape)
    survey = config_for(h, noise_px=0.3, seed=seed, point_sigma_m=0.05, scale_sigma=scale_sigma)
    road_points = [(x * (1 + scale_error), y * (1 + scale_error)) for x, y in survey.road_points]
    return t + rng.normal(0.0, 0.002, len(t)), image, survey.model_copy(update={"road_points": tuple(road_points)})


def test_speed_from_track_counts_the_survey_and_timing_in_its_sigma() -> None:
    t, image, survey = _survey_track(50.0, 0.10, 0.10, 3)
    estimate = speed_from_track(t, image, survey, SpeedConfig())
    assert estimate.status == "ok" and estimate.speed_kmh is not None and estimate.sigma_kmh is not None
    assert estimate.speed_kmh == pytest.approx(55.0, rel=0.03)  # the survey's 10% is in the speed...
    assert estimate.calibration_sigma_kmh is not None and estimate.calibration_sigma_kmh >= 0.05 * 50.0
    assert estimate.speed_kmh - 2 * estimate.sigma_kmh < 50.0  # ...and within the doubt it declares
    assert estimate.fit_sigma_kmh is not None and estimate.timing_sigma_kmh is not None
    parts = [estimate.fit_sigma_kmh, estimate.calibration_sigma_kmh, estimate.timing_sigma_kmh]
    assert estimate.sigma_kmh == pytest.approx(float(np.sqrt(np.sum(np.square(parts)))), rel=1e-6)
    assert speed_from_track(t, image, survey, SpeedConfig()) == estimate  # pure: fixed-seed survey draws


def test_speed_from_track_handles_lost_frames_by_time() -> None:
    for lost in (0.0, 0.1, 0.3):
        t, image, survey = _survey_track(50.0, 0.0, lost, 5, scale_sigma=0.0)
        estimate = speed_from_track(t, image, survey, SpeedConfig())
        assert estimate.speed_kmh == pytest.approx(50.0, rel=0.02), lost
        assert abs(estimate.speed_kmh - 50.0) < 2.5 * estimate.sigma_kmh  # type: ignore[operator]


def test_speed_from_track_refuses_mismatched_samples() -> None:
    t, image, survey = _survey_track(50.0, 0.0, 0.0, 1)
    with pytest.raises(ValueError, match="samples"):
        speed_from_track(t[:-1], image, survey, SpeedConfig())
