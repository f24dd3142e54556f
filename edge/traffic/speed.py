"""Vehicle speed from a track's road-plane positions: robust line fit of position against time.

Over the latest ``window_s`` seconds: a Theil-Sen fit per road axis (immune to up to ~29% outliers), samples whose
residual exceeds ``outlier_k`` robust sigmas (MAD) are dropped, then ordinary least squares on the inliers gives the
velocity and its standard error. Speeds above the plausibility cap are refused, never reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field
from scipy.stats import theilslopes

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


SpeedStatus = Literal["ok", "too_few_samples", "too_short", "implausible"]


@dataclass(frozen=True, slots=True)
class SpeedEstimate:
    """A speed with its 1-sigma uncertainty; ``speed_kmh`` is None unless ``status == "ok"``.

    Attributes:
        speed_kmh: robust speed, km/h, or None.
        sigma_kmh: one standard deviation, km/h, or None.
        used: samples kept after outlier rejection.
        total: samples in the window.
        status: why there is or is not an estimate.
        velocity_mps: (2,) road-plane velocity, m/s (NaN when not estimated).
    """

    speed_kmh: float | None
    sigma_kmh: float | None
    used: int
    total: int
    status: SpeedStatus
    velocity_mps: tuple[float, float] = (float("nan"), float("nan"))


def _ols(t: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Least-squares slopes of (N, 2) ``y`` on (N,) ``t`` and their standard errors, each (2,)."""
    tc = t - t.mean()
    sxx = float(tc @ tc)
    slope = (tc @ (y - y.mean(axis=0))) / sxx
    resid = y - y.mean(axis=0) - np.outer(tc, slope)
    dof = max(len(t) - 2, 1)
    s2 = (resid**2).sum(axis=0) / dof
    return slope, np.sqrt(s2 / sxx)


def estimate_speed(t: NDArray[np.floating], road_xy: NDArray[np.floating], config: SpeedConfig) -> SpeedEstimate:
    """Robust speed over the latest window of a track.

    Args:
        t: (T,) sample times, seconds, increasing.
        road_xy: (T, 2) road-plane positions, metres.
        config: window, rejection and cap.

    Returns:
        The estimate; ``status`` says why it is missing when it is.
    """
    times = np.asarray(t, np.float64).reshape(-1)
    xy = np.asarray(road_xy, np.float64).reshape(-1, 2)
    sel = times >= (times[-1] - config.window_s) if len(times) else np.zeros(0, bool)
    times, xy = times[sel], xy[sel]
    total = len(times)
    if total < config.min_samples:
        return SpeedEstimate(None, None, total, total, "too_few_samples")
    if times[-1] - times[0] < config.min_duration_s:
        return SpeedEstimate(None, None, total, total, "too_short")
    fits = [theilslopes(xy[:, k], times) for k in range(2)]
    predicted = np.stack([f.intercept + f.slope * times for f in fits], axis=1)
    residual = np.linalg.norm(xy - predicted, axis=1)
    mad = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
    inliers = residual <= max(config.outlier_k * mad + float(np.median(residual)), config.min_residual_m)
    used = int(inliers.sum())
    if used < config.min_samples:
        return SpeedEstimate(None, None, used, total, "too_few_samples")
    velocity, stderr = _ols(times[inliers], xy[inliers])
    speed = float(np.linalg.norm(velocity))
    sigma = float(np.sqrt(((velocity * stderr) ** 2).sum()) / speed) if speed > 1e-9 else float(stderr.max())
    vel = (float(velocity[0]), float(velocity[1]))
    if speed * MPS_TO_KMH > config.cap_kmh:
        return SpeedEstimate(None, None, used, total, "implausible", vel)
    return SpeedEstimate(speed * MPS_TO_KMH, sigma * MPS_TO_KMH, used, total, "ok", vel)
