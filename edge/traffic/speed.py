"""Vehicle speed from a track with its whole uncertainty: fit, calibration survey and timing.

Over the latest ``window_s`` seconds: a Theil-Sen fit per road axis (immune to up to ~29% outliers), samples whose
residual exceeds ``outlier_k`` robust sigmas (MAD) are dropped, then ordinary least squares on the inliers gives the
velocity and its standard error (the fit sigma). Times are the frames' capture times, so a lost frame is a gap in
time, never a shorter step. Speeds above the plausibility cap are refused, never reported.

``speed_from_track`` is the one function that turns a track into a speed: the traffic pipeline calls it when a
track closes and ``kuzet evidence verify --recompute`` calls it on the samples and calibration an evidence package
carries, so both get the same figure. Its sigma adds, in quadrature:

- fit: the OLS standard error of the velocity (box jitter, detector noise);
- calibration: the survey's doubt; road points are perturbed by ``point_sigma_m`` and the homography re-fitted
  ``calibration_draws`` times (fixed seed, so the figure is reproducible), the spread of the re-measured speeds is
  the points' part; ``scale_sigma`` (the length reference) scales every distance, so it adds ``speed * scale_sigma``;
- timing: each capture time is off by ``timestamp_sigma_s``; that moves the slope by
  ``speed * timestamp_sigma_s / sqrt(sum (t - mean t)^2)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field
from scipy.stats import theilslopes

from edge.traffic.calibration import Calibration, CalibrationConfig, apply_homography, fit_homography
from kuzet.config import StrictModel

MPS_TO_KMH = 3.6


class SpeedConfig(StrictModel):
    """How speed is estimated from road positions."""

    window_s: float = Field(default=2.0, gt=0.1, le=60.0, description="Latest seconds of the track used")
    min_samples: int = Field(default=6, ge=3, le=1000, description="Fewer inlier samples: no estimate")
    min_duration_s: float = Field(default=0.4, gt=0.0, le=30.0, description="Shorter spans: no estimate")
    outlier_k: float = Field(default=3.0, gt=1.0, le=10.0, description="Residual cut, in robust sigmas (MAD)")
    min_residual_m: float = Field(
        default=0.25, ge=0.0, le=5.0, description="Residuals below this are never outliers (box jitter)"
    )
    cap_kmh: float = Field(default=200.0, gt=10.0, le=400.0, description="Plausibility cap; above = refused")
    timestamp_sigma_s: float = Field(
        default=0.002, ge=0.0, le=1.0, description="1-sigma error of each frame's capture time, seconds"
    )
    calibration_draws: int = Field(
        default=32,
        ge=0,
        le=1000,
        description="Homography re-fits from perturbed survey points (0: ignored)",
    )
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Seed of those draws (same track, same sigma)")


SpeedStatus = Literal["ok", "too_few_samples", "too_short", "implausible", "no_calibration"]


@dataclass(frozen=True, slots=True)
class SpeedEstimate:
    """A speed with its 1-sigma uncertainty; ``speed_kmh`` is None unless ``status == "ok"``.

    Attributes:
        speed_kmh: robust speed, km/h, or None.
        sigma_kmh: one standard deviation, km/h (every part below in quadrature), or None.
        used: samples kept after outlier rejection.
        total: samples in the window.
        status: why there is or is not an estimate.
        velocity_mps: (2,) road-plane velocity, m/s (NaN when not estimated).
        fit_sigma_kmh: the fit's part of the sigma.
        calibration_sigma_kmh: the survey's part (points and scale).
        timing_sigma_kmh: the capture times' part.
        t0: first time of the window used, seconds (NaN when not estimated).
        t1: last time of the window used.
    """

    speed_kmh: float | None
    sigma_kmh: float | None
    used: int
    total: int
    status: SpeedStatus
    velocity_mps: tuple[float, float] = (float("nan"), float("nan"))
    fit_sigma_kmh: float | None = None
    calibration_sigma_kmh: float | None = None
    timing_sigma_kmh: float | None = None
    t0: float = float("nan")
    t1: float = float("nan")

    def details(self) -> dict[str, float | str]:
        """The numbers a decision on this speed was made on (for a violation's details)."""
        out: dict[str, float | str] = {"speed_status": self.status, "speed_samples": float(self.used)}
        for name in ("speed_kmh", "sigma_kmh", "fit_sigma_kmh", "calibration_sigma_kmh", "timing_sigma_kmh"):
            value = getattr(self, name)
            if value is not None:
                out[name] = round(float(value), 3)
        return out


def _ols(t: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Least-squares slopes of (N, 2) ``y`` on (N,) ``t`` and their standard errors, each (2,)."""
    tc = t - t.mean()
    sxx = float(tc @ tc)
    slope = (tc @ (y - y.mean(axis=0))) / sxx
    resid = y - y.mean(axis=0) - np.outer(tc, slope)
    dof = max(len(t) - 2, 1)
    s2 = (resid**2).sum(axis=0) / dof
    return slope, np.sqrt(s2 / sxx)


def _speed_sigma(velocity: NDArray[np.float64], stderr: NDArray[np.float64]) -> float:
    """1-sigma of |velocity| from per-axis standard errors (first-order propagation)."""
    speed = float(np.linalg.norm(velocity))
    return float(np.sqrt(((velocity * stderr) ** 2).sum()) / speed) if speed > 1e-9 else float(stderr.max())


def _inliers(
    t: NDArray[np.float64], road_xy: NDArray[np.float64], config: SpeedConfig
) -> tuple[NDArray[np.bool_] | None, SpeedStatus]:
    """Window selection and robust outlier rejection: (T,) inlier mask of the window, or None with the reason."""
    if len(t) < config.min_samples:
        return None, "too_few_samples"
    if t[-1] - t[0] < config.min_duration_s:
        return None, "too_short"
    fits = [theilslopes(road_xy[:, k], t) for k in range(2)]
    predicted = np.stack([f.intercept + f.slope * t for f in fits], axis=1)
    residual = np.linalg.norm(road_xy - predicted, axis=1)
    mad = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
    inliers = residual <= max(config.outlier_k * mad + float(np.median(residual)), config.min_residual_m)
    if int(inliers.sum()) < config.min_samples:
        return None, "too_few_samples"
    return np.asarray(inliers), "ok"


def _window(t: NDArray[np.float64], config: SpeedConfig) -> NDArray[np.bool_]:
    return t >= (t[-1] - config.window_s) if len(t) else np.zeros(0, bool)


def estimate_speed(t: NDArray[np.floating], road_xy: NDArray[np.floating], config: SpeedConfig) -> SpeedEstimate:
    """Robust speed over the latest window of a track from road positions (fit and timing sigma only).

    Args:
        t: (T,) sample times, seconds, increasing.
        road_xy: (T, 2) road-plane positions, metres.
        config: window, rejection and cap.

    Returns:
        The estimate; ``status`` says why it is missing when it is.
    """
    times = np.asarray(t, np.float64).reshape(-1)
    xy = np.asarray(road_xy, np.float64).reshape(-1, 2)
    sel = _window(times, config)
    times, xy = times[sel], xy[sel]
    total = len(times)
    inliers, status = _inliers(times, xy, config)
    if inliers is None:
        return SpeedEstimate(None, None, total, total, status)
    return _finish(times[inliers], xy[inliers], total, config, calibration_sigma_mps=0.0)


def _finish(
    t: NDArray[np.float64],
    xy: NDArray[np.float64],
    total: int,
    config: SpeedConfig,
    calibration_sigma_mps: float | None = None,
    scale_sigma: float = 0.0,
) -> SpeedEstimate:
    """Velocity of the inliers and the sigma parts; refuses speeds over the cap."""
    velocity, stderr = _ols(t, xy)
    speed = float(np.linalg.norm(velocity))
    fit = _speed_sigma(velocity, stderr)
    tc = t - t.mean()
    timing = speed * config.timestamp_sigma_s / math.sqrt(max(float(tc @ tc), 1e-12))
    calibration = math.hypot(calibration_sigma_mps or 0.0, speed * scale_sigma)
    sigma = math.sqrt(fit**2 + timing**2 + calibration**2)
    vel = (float(velocity[0]), float(velocity[1]))
    if speed * MPS_TO_KMH > config.cap_kmh:
        return SpeedEstimate(None, None, len(t), total, "implausible", vel)
    return SpeedEstimate(
        speed * MPS_TO_KMH,
        sigma * MPS_TO_KMH,
        len(t),
        total,
        "ok",
        vel,
        fit_sigma_kmh=fit * MPS_TO_KMH,
        calibration_sigma_kmh=calibration * MPS_TO_KMH,
        timing_sigma_kmh=timing * MPS_TO_KMH,
        t0=float(t[0]),
        t1=float(t[-1]),
    )


def _points_sigma_mps(
    t: NDArray[np.float64], image_xy: NDArray[np.float64], calibration: CalibrationConfig, config: SpeedConfig
) -> float:
    """Spread of the speed when the survey's road points move by their declared ``point_sigma_m``."""
    if config.calibration_draws < 2 or calibration.point_sigma_m <= 0.0:
        return 0.0
    rng = np.random.default_rng(config.seed)
    image = np.asarray(calibration.image_points, np.float64)
    road = np.asarray(calibration.road_points, np.float64)
    speeds: list[float] = []
    for _ in range(config.calibration_draws):
        h = fit_homography(image, road + rng.normal(0.0, calibration.point_sigma_m, road.shape))
        if h is None:
            continue
        velocity, _ = _ols(t, apply_homography(h, image_xy))
        speeds.append(float(np.linalg.norm(velocity)))
    return float(np.std(speeds, ddof=1)) if len(speeds) >= 2 else 0.0


def speed_from_track(
    times: NDArray[np.floating],
    image_points: NDArray[np.floating],
    calibration_config: CalibrationConfig,
    speed_config: SpeedConfig,
) -> SpeedEstimate:
    """The speed of one track and its whole 1-sigma uncertainty (fit, survey points and scale, timing).

    Pure: the same inputs always give the same estimate (the survey draws use ``speed_config.seed``).

    Args:
        times: (T,) capture times of the samples, seconds, increasing (lost frames are gaps, not re-numbered).
        image_points: (T, 2) the vehicle's road contact point in each sample, image pixels (box bottom-centre;
            samples whose box is clipped by the frame edge should be left out by the caller).
        calibration_config: the camera's survey (image/road points, ``point_sigma_m``, ``scale_sigma``).
        speed_config: window, rejection, cap, timing sigma and survey draws.

    Returns:
        The estimate; ``status`` says why it is missing when it is.

    Raises:
        edge.traffic.calibration.CalibrationError: the survey does not give a usable homography.
    """
    calibration = Calibration(calibration_config)
    t = np.asarray(times, np.float64).reshape(-1)
    image_xy = np.asarray(image_points, np.float64).reshape(-1, 2)
    if len(t) != len(image_xy):
        raise ValueError(f"times has {len(t)} samples, image_points {len(image_xy)}")
    covered = calibration.covers(image_xy) if len(t) else np.zeros(0, bool)
    t, image_xy = t[covered], image_xy[covered]
    sel = _window(t, speed_config)
    t, image_xy = t[sel], image_xy[sel]
    road = calibration.to_road(image_xy)
    inliers, status = _inliers(t, road, speed_config)
    if inliers is None:
        return SpeedEstimate(None, None, len(t), len(t), status)
    points = _points_sigma_mps(t[inliers], image_xy[inliers], calibration_config, speed_config)
    return _finish(t[inliers], road[inliers], len(t), speed_config, points, calibration_config.scale_sigma)
