"""Per-camera calibration: the homography from image pixels to the road plane in metres.

Fitted from four or more image points whose road positions are known (measured lane widths, marking lengths,
kerb points); the fit is least-squares DLT (``cv2.findHomography`` with method 0) and its reprojection error is
reported in metres on the road and in pixels on the image, so a bad survey is visible before speeds are trusted.
The survey declares its own doubt: ``point_sigma_m`` (each road point) and ``scale_sigma`` (the length reference);
``edge.traffic.speed.speed_from_track`` propagates both into every speed's sigma.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator

from kuzet.config import StrictModel

Point = tuple[float, float]


class CalibrationError(ValueError):
    """The point pairs do not define a usable homography."""


class CalibrationConfig(StrictModel):
    """Surveyed point pairs of one camera, versioned so events can say which calibration measured them."""

    version: str = Field(min_length=1, max_length=32, description="Calibration version label, e.g. 2026-11-25a")
    surveyed_on: date | None = Field(default=None, description="Date the road points were measured")
    image_points: tuple[Point, ...] = Field(min_length=4, max_length=64, description="(x, y) image pixels")
    road_points: tuple[Point, ...] = Field(
        min_length=4, max_length=64, description="(x, y) metres on the road plane, same order as image_points"
    )
    max_error_m: float = Field(
        default=0.5, gt=0.0, le=10.0, description="Largest acceptable RMS reprojection error on the road"
    )
    max_metres_per_pixel: float = Field(
        default=0.25, gt=0.0, le=10.0, description="Samples where one pixel spans more road are not used for speed"
    )
    point_sigma_m: float = Field(
        default=0.05, ge=0.0, le=5.0, description="1-sigma error of each surveyed road point, metres (per axis)"
    )
    scale_sigma: float = Field(
        default=0.0, ge=0.0, le=0.5, description="1-sigma relative error of the survey's length reference"
    )
    notes: str = Field(default="", max_length=500, description="How the road points were obtained")

    @model_validator(mode="after")
    def _check(self) -> CalibrationConfig:
        if len(self.image_points) != len(self.road_points):
            raise ValueError(f"image_points has {len(self.image_points)} points, road_points {len(self.road_points)}")
        return self


@dataclass(frozen=True, slots=True)
class ReprojectionError:
    """How well the homography reproduces the surveyed points.

    Attributes:
        rms_m: RMS distance on the road, metres (image points mapped to the road).
        max_m: largest such distance, metres.
        rms_px: RMS distance on the image, pixels (road points mapped to the image).
    """

    rms_m: float
    max_m: float
    rms_px: float


def fit_homography(image_points: NDArray[np.floating], road_points: NDArray[np.floating]) -> NDArray[np.float64] | None:
    """Least-squares DLT image -> road homography, or None when the points are degenerate."""
    h, _ = cv2.findHomography(np.asarray(image_points, np.float64), np.asarray(road_points, np.float64), 0)
    if h is None or not np.all(np.isfinite(h)) or abs(np.linalg.det(h)) < 1e-12:
        return None
    return np.asarray(h, np.float64)


def apply_homography(h: NDArray[np.float64], points: NDArray[np.floating]) -> NDArray[np.float64]:
    """Apply a 3x3 homography to (N, 2) points."""
    return _apply(h, points)


def _apply(h: NDArray[np.float64], points: NDArray[np.floating]) -> NDArray[np.float64]:
    """Apply a 3x3 homography to (N, 2) points."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    homogeneous = np.concatenate([pts, np.ones((len(pts), 1))], axis=1) @ h.T
    w = homogeneous[:, 2:3]
    return np.asarray(homogeneous[:, :2] / np.where(np.abs(w) < 1e-12, 1e-12, w))


class Calibration:
    """A fitted image -> road homography.

    Args:
        config: the surveyed point pairs.

    Raises:
        CalibrationError: degenerate points (collinear, repeated) or an error above ``max_error_m``.
    """

    def __init__(self, config: CalibrationConfig) -> None:
        self.config = config
        image = np.asarray(config.image_points, np.float64)
        road = np.asarray(config.road_points, np.float64)
        h = fit_homography(image, road)
        if h is None:
            raise CalibrationError(f"calibration {config.version}: points are degenerate (collinear or repeated)")
        self.H: NDArray[np.float64] = h
        self.H_inv: NDArray[np.float64] = np.asarray(np.linalg.inv(self.H), np.float64)
        self.error = self._error(image, road)
        if self.error.rms_m > config.max_error_m:
            raise CalibrationError(
                f"calibration {config.version}: RMS reprojection error {self.error.rms_m:.3f} m exceeds"
                f" max_error_m {config.max_error_m} m; re-survey the points"
            )

    @property
    def version(self) -> str:
        """Version label of the survey."""
        return self.config.version

    def to_road(self, image_xy: NDArray[np.floating]) -> NDArray[np.float64]:
        """(N, 2) image pixels -> (N, 2) road metres."""
        return _apply(self.H, image_xy)

    def to_image(self, road_xy: NDArray[np.floating]) -> NDArray[np.float64]:
        """(N, 2) road metres -> (N, 2) image pixels."""
        return _apply(self.H_inv, road_xy)

    def metres_per_pixel(self, image_xy: NDArray[np.floating]) -> NDArray[np.float64]:
        """(N,) road metres spanned by one image pixel at each point (largest of the x and y steps)."""
        pts = np.asarray(image_xy, np.float64).reshape(-1, 2)
        base = self.to_road(pts)
        step_x = np.linalg.norm(self.to_road(pts + np.array([1.0, 0.0])) - base, axis=1)
        step_y = np.linalg.norm(self.to_road(pts + np.array([0.0, 1.0])) - base, axis=1)
        return np.asarray(np.maximum(step_x, step_y))

    def covers(self, image_xy: NDArray[np.floating]) -> NDArray[np.bool_]:
        """(N,) True where one pixel spans at most ``max_metres_per_pixel`` (metres are trustworthy there).

        Towards the horizon a pixel spans ever more metres, so a box jitter becomes a large jump; speeds use only
        covered samples.
        """
        scale = self.metres_per_pixel(image_xy)
        return np.asarray(np.isfinite(scale) & (scale <= self.config.max_metres_per_pixel))

    def _error(self, image: NDArray[np.float64], road: NDArray[np.float64]) -> ReprojectionError:
        on_road = np.linalg.norm(self.to_road(image) - road, axis=1)
        on_image = np.linalg.norm(self.to_image(road) - image, axis=1)
        return ReprojectionError(
            rms_m=float(np.sqrt(np.mean(on_road**2))),
            max_m=float(on_road.max()),
            rms_px=float(np.sqrt(np.mean(on_image**2))),
        )
