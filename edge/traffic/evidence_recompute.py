"""Recompute a package's speed from the package alone: its track samples, survey and speed settings.

The manifest carries the calibration survey (image and road points, ``point_sigma_m``, ``scale_sigma``) with the
homography and reprojection error it gave, the speed settings, and ``track.json`` every sample's capture time, image
point and box. ``recompute(package)`` refits the homography, takes the samples the camera measured speed on (the
box bottom-centres of boxes clipped by no frame edge, ``edge.traffic.tracks.speed_samples``, with the frame size of
``scene.json``; a track without boxes: its image points), calls the same pure function the camera used
(``edge.traffic.speed.speed_from_track``) and compares speed and sigma with what the package states.
Run ``verify_package`` first: this module trusts the files' hashes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from edge.traffic.calibration import Calibration, CalibrationConfig, CalibrationError
from edge.traffic.evidence import MANIFEST
from edge.traffic.speed import SpeedConfig, speed_from_track
from edge.traffic.tracks import speed_samples

SPEED_TOLERANCE_KMH = 0.05
"""Largest difference between the stated and recomputed speed (and sigma) that still matches, km/h."""
HOMOGRAPHY_TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class Recomputed:
    """The stated and recomputed figures of one package, and why they disagree (empty when they match)."""

    stated_kmh: float | None
    stated_sigma_kmh: float | None
    speed_kmh: float | None
    sigma_kmh: float | None
    status: str
    problems: tuple[str, ...]

    def record(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "stated_kmh": self.stated_kmh,
            "stated_sigma_kmh": self.stated_sigma_kmh,
            "speed_kmh": self.speed_kmh,
            "sigma_kmh": self.sigma_kmh,
            "status": self.status,
            "problems": list(self.problems),
        }


def _close(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= SPEED_TOLERANCE_KMH)


def _homography_problems(name: str, calibration: dict[str, Any], config: CalibrationConfig) -> list[str]:
    fitted = Calibration(config)
    stated = np.asarray(calibration.get("homography"), np.float64)
    if stated.shape != (3, 3):
        return [f"{name}: the manifest's homography is not 3x3"]
    scale = max(float(np.abs(fitted.H).max()), 1e-12)
    if float(np.abs(stated - fitted.H).max()) / scale > HOMOGRAPHY_TOLERANCE:
        return [f"{name}: the stated homography is not the one its survey points give"]
    return []


def _speed_points(package: Path, track: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(times, image points)`` the speed is measured on: unclipped boxes' bottom-centres, else the image points."""
    times = np.asarray(track["t"], np.float64)
    if track.get("boxes_xyxy") is None:
        return times, np.asarray(track["image_xy"], np.float64).reshape(-1, 2)
    boxes = np.asarray(track["boxes_xyxy"], np.float64).reshape(-1, 4)
    bottom = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2.0, boxes[:, 3]], axis=1)
    size = json.loads((package / "scene.json").read_bytes()).get("image_size")
    usable = speed_samples(boxes, (int(size[0]), int(size[1])) if size else None)
    return times[usable], bottom[usable]


def recompute(package: Path) -> Recomputed:
    """Recompute the speed of one package and compare it with the stated one."""
    manifest = json.loads((package / MANIFEST).read_bytes())
    speed = manifest.get("speed") or {}
    stated, stated_sigma = speed.get("kmh"), speed.get("sigma_kmh")
    calibration = manifest.get("calibration") or {}

    def fail(why: str) -> Recomputed:
        return Recomputed(stated, stated_sigma, None, None, "not_recomputable", (f"{package.name}: {why}",))

    if calibration.get("config") is None or speed.get("config") is None:
        return fail("the package carries no calibration survey or speed settings, the speed cannot be recomputed")
    try:
        survey = CalibrationConfig.model_validate(calibration["config"])
        settings = SpeedConfig.model_validate(speed["config"])
        track = json.loads((package / "track.json").read_bytes())
        problems = _homography_problems(package.name, calibration, survey)
        times, points = _speed_points(package, track)
        estimate = speed_from_track(times, points, survey, settings)
    except (ValidationError, CalibrationError, KeyError, TypeError, ValueError, OSError) as exc:
        return fail(f"recomputation failed: {exc}")
    if not _close(stated, estimate.speed_kmh):
        problems.append(
            f"{package.name}: stated speed {stated} km/h, recomputed {estimate.speed_kmh} km/h from the package"
        )
    if not _close(stated_sigma, estimate.sigma_kmh):
        problems.append(
            f"{package.name}: stated sigma {stated_sigma} km/h, recomputed {estimate.sigma_kmh} km/h from the package"
        )
    return Recomputed(stated, stated_sigma, estimate.speed_kmh, estimate.sigma_kmh, estimate.status, tuple(problems))
