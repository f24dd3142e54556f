"""Thermal sensors: radiometric frames in degrees C, a replay driver, and the visible->thermal registration.

A radiometric frame is a (H, W) float32 array of temperatures in degrees Celsius (e.g. 24x32 for an
MLX90640, 120x160 for a Lepton-class core); NaN marks pixels without data. Every frame says where it came
from: ``sensor`` (a real device, live or recorded) or ``synthetic`` (rendered, e.g. the demo's recording),
and the sensor's 1-sigma uncertainty when known. The ``Registration`` is the homography that maps
visible-camera pixels to thermal pixels, measured once per device (``hardware.thermal.registration``) and
stored with its reprojection error.

Drivers: ``hardware.thermal.mlx90640`` (Melexis MLX90640 over I2C), ``hardware.thermal.lepton`` (FLIR Lepton
radiometric TLinear through flirpy) and ``ReplayThermalSensor`` here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, field_validator

from kuzet.config import StrictModel

logger = logging.getLogger(__name__)

ThermalSource = Literal["sensor", "synthetic"]


@dataclass(frozen=True, slots=True)
class ThermalFrame:
    """One radiometric frame.

    Attributes:
        celsius: (H, W) float32 temperatures in degrees C; NaN where the sensor gave no data.
        captured_at: capture time, timezone-aware UTC.
        index: frame number of the sensor.
        source: ``sensor`` for a real device (live or recorded), ``synthetic`` for rendered data.
        sigma_c: the sensor's 1-sigma temperature uncertainty in degrees C, None when unknown.
    """

    celsius: NDArray[np.float32]
    captured_at: datetime
    index: int
    source: ThermalSource = "sensor"
    sigma_c: float | None = None


class ThermalSensor(Protocol):
    """A radiometric sensor; ``frame_at`` returns the frame closest to a visible frame's capture time."""

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the thermal frames."""
        ...

    def frame_at(self, at: datetime) -> ThermalFrame | None:
        """The frame captured nearest ``at`` (within the driver's tolerance), or None when there is none."""
        ...

    def close(self) -> None:
        """Release the device."""
        ...


def write_replay(
    path: Path,
    celsius: NDArray[Any],
    timestamps: NDArray[Any],
    *,
    source: ThermalSource,
    sigma_c: float | None = None,
) -> None:
    """Record radiometric frames for ``ReplayThermalSensor``, labelled with where they came from.

    Args:
        path: the ``.npz`` file to write.
        celsius: (T, H, W) temperatures in degrees C (NaN = no data).
        timestamps: (T,) capture times as POSIX seconds (UTC), increasing.
        source: ``sensor`` (recorded from a device) or ``synthetic`` (rendered); stored in the file.
        sigma_c: the 1-sigma uncertainty of the temperatures, stored when known.
    """
    frames = np.asarray(celsius, np.float32)
    times = np.asarray(timestamps, np.float64).reshape(-1)
    if frames.ndim != 3 or len(frames) != len(times):
        raise ValueError(f"expected (T, H, W) frames and (T,) timestamps, got {frames.shape} and {times.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        np.savez_compressed(
            handle,
            celsius=frames,
            timestamps=times,
            source=np.asarray(source),
            sigma_c=np.asarray(np.nan if sigma_c is None else sigma_c, np.float64),
        )


class ReplayThermalSensor:
    """Replays recorded radiometric frames: ``.npz`` with ``celsius`` (T, H, W), ``timestamps`` (T,), ``source``
    and ``sigma_c``. A file without ``source`` predates the real drivers, when the only recordings were the
    rendered demo ones: it is replayed as ``synthetic``.

    Args:
        path: the recording written by ``write_replay``.
        tolerance_s: a visible frame further than this from every thermal frame gets no thermal frame.
        time_offset_s: added to the recorded timestamps (to align a recording with a replayed video).
    """

    def __init__(self, path: Path, tolerance_s: float = 0.25, time_offset_s: float = 0.0) -> None:
        with np.load(path, allow_pickle=False) as data:
            self._frames = np.asarray(data["celsius"], np.float32)
            self._times = np.asarray(data["timestamps"], np.float64) + time_offset_s
            label = str(data["source"]) if "source" in data.files else "synthetic"
            sigma = float(data["sigma_c"]) if "sigma_c" in data.files else float("nan")
        if label not in ("sensor", "synthetic"):
            raise ValueError(f"{path}: source must be 'sensor' or 'synthetic', not {label!r}")
        self.source: ThermalSource = "sensor" if label == "sensor" else "synthetic"
        self.sigma_c = None if np.isnan(sigma) else sigma
        if self._frames.ndim != 3 or len(self._frames) != len(self._times):
            raise ValueError(f"{path}: expected celsius (T, H, W) and timestamps (T,)")
        self.tolerance_s = tolerance_s
        self.path = path

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the thermal frames."""
        return int(self._frames.shape[1]), int(self._frames.shape[2])

    def __len__(self) -> int:
        return len(self._frames)

    def frame_at(self, at: datetime) -> ThermalFrame | None:
        """The recorded frame nearest ``at``, or None when none lies within ``tolerance_s``."""
        if len(self._times) == 0:
            return None
        t = at.timestamp()
        index = int(np.clip(np.searchsorted(self._times, t), 1, len(self._times) - 1)) if len(self._times) > 1 else 0
        if len(self._times) > 1 and abs(self._times[index - 1] - t) <= abs(self._times[index] - t):
            index -= 1
        if abs(self._times[index] - t) > self.tolerance_s:
            return None
        when = datetime.fromtimestamp(float(self._times[index]), UTC)
        return ThermalFrame(self._frames[index], when, index, self.source, self.sigma_c)

    def close(self) -> None:
        """Nothing to release for a file."""


def thermal_health(
    frame: ThermalFrame | None,
    at: datetime,
    max_age_s: float = 1.0,
    valid_c: tuple[float, float] = (-40.0, 150.0),
    min_valid: float = 0.5,
) -> tuple[bool, str]:
    """Whether a sensor's reading for a visible frame at ``at`` can be trusted, and why not (for the tamper
    monitor's thermal fault): a missing or stale frame, too few pixels with data, or temperatures no door scene
    has (a sensor that reports garbage or its error value).

    Args:
        frame: the sensor's frame for the visible frame, or None when it gave none.
        at: the visible frame's capture time.
        max_age_s: a frame further than this from ``at`` is stale.
        valid_c: plausible temperatures, degrees C.
        min_valid: share of pixels that must hold a plausible temperature.
    """
    if frame is None:
        return False, "no thermal frame"
    age = abs((frame.captured_at - at).total_seconds())
    if age > max_age_s:
        return False, f"thermal frame is {age:.1f} s from the visible frame"
    celsius = np.asarray(frame.celsius, np.float32)
    finite = np.isfinite(celsius)
    plausible = finite & (celsius >= valid_c[0]) & (celsius <= valid_c[1])
    share = float(plausible.mean()) if celsius.size else 0.0
    if share < min_valid:
        if float(finite.mean() if celsius.size else 0.0) < min_valid:
            return False, f"only {share:.0%} of thermal pixels hold data"
        low, high = float(np.nanmin(celsius)), float(np.nanmax(celsius))
        return False, f"thermal values out of range ({low:.0f}..{high:.0f} C)"
    return True, ""


class Registration(StrictModel):
    """Homography mapping visible-camera pixels (x, y) to thermal pixels (x, y), per device.

    Thermal pixel (i, j) covers [j, j+1) x [i, i+1); its centre is (j + 0.5, i + 0.5).
    """

    homography: tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]] = Field(
        description="3x3 row-major homography H with thermal ~ H @ (x, y, 1) of the visible pixel"
    )
    thermal_size: tuple[int, int] = Field(description="(width, height) of the thermal frame in pixels")
    model: Literal["homography", "affine", "scale"] = Field(
        default="homography", description="How it was measured: full homography, affine, or assumed pure scaling"
    )
    rms_px: float | None = Field(
        default=None, ge=0.0, le=1000.0, description="Reprojection RMS of the measured point pairs, thermal px"
    )
    pairs: int | None = Field(default=None, ge=0, le=10_000, description="Point pairs it was measured from")

    @field_validator("homography")
    @classmethod
    def _invertible(cls, value: tuple[tuple[float, ...], ...]) -> tuple[tuple[float, ...], ...]:
        if abs(float(np.linalg.det(np.asarray(value, np.float64)))) < 1e-12:
            raise ValueError("homography is singular")
        return value

    @classmethod
    def from_matrix(cls, matrix: NDArray[Any], thermal_size: tuple[int, int]) -> Registration:
        """Build from a (3, 3) array."""
        rows = np.asarray(matrix, np.float64).reshape(3, 3).tolist()
        return cls.model_validate({"homography": rows, "thermal_size": thermal_size})

    @classmethod
    def scaled(cls, visible_size: tuple[int, int], thermal_size: tuple[int, int]) -> Registration:
        """The registration of co-located cameras with the same field of view (pure scaling)."""
        sx, sy = thermal_size[0] / visible_size[0], thermal_size[1] / visible_size[1]
        return cls.model_validate(
            {"homography": np.diag([sx, sy, 1.0]).tolist(), "thermal_size": thermal_size, "model": "scale"}
        )

    @property
    def matrix(self) -> NDArray[np.float64]:
        """(3, 3) homography."""
        return np.asarray(self.homography, np.float64)

    def map_points(self, points: NDArray[Any]) -> NDArray[np.float32]:
        """Map (..., 2) visible pixels to (..., 2) thermal pixels."""
        pts = np.asarray(points, np.float64)
        flat = pts.reshape(-1, 2)
        mapped = np.concatenate([flat, np.ones((len(flat), 1))], axis=1) @ self.matrix.T
        w = mapped[:, 2:3]
        out = mapped[:, :2] / np.where(np.abs(w) < 1e-12, 1e-12, w)
        result: NDArray[np.float32] = out.reshape(pts.shape).astype(np.float32)
        return result


def map_roi(registration: Registration, xyxy: NDArray[Any]) -> NDArray[np.float32]:
    """Map visible-frame ROIs into the thermal frame.

    Args:
        registration: the device's visible->thermal homography.
        xyxy: (N, 4) ROIs in visible pixels.

    Returns:
        (N, 4, 2) quadrilaterals in thermal pixels (corners in order top-left, top-right, bottom-right,
        bottom-left); a homography keeps them convex for ROIs in front of the camera.
    """
    boxes = np.asarray(xyxy, np.float32).reshape(-1, 4)
    corners = np.stack(
        [boxes[:, [0, 1]], boxes[:, [2, 1]], boxes[:, [2, 3]], boxes[:, [0, 3]]],
        axis=1,
    )
    return registration.map_points(corners)


def quad_pixel_mask(quads: NDArray[Any], shape: tuple[int, int]) -> NDArray[np.bool_]:
    """Which thermal pixels each quadrilateral covers, vectorised over quads and pixels.

    A pixel belongs to a quad when its centre lies inside; a quad too small to contain any pixel centre
    gets the pixel under its own centre (so a low-resolution sensor still reads the ROI), if in the frame.

    Args:
        quads: (N, 4, 2) convex quadrilaterals in thermal pixels.
        shape: (H, W) of the thermal frame.

    Returns:
        (N, H*W) boolean mask over the flattened frame.
    """
    q = np.asarray(quads, np.float64).reshape(-1, 4, 2)
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w]
    centres = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1)  # (P, 2)
    edges = np.roll(q, -1, axis=1) - q  # (N, 4, 2)
    rel = centres[None, None, :, :] - q[:, :, None, :]  # (N, 4, P, 2)
    cross = edges[:, :, None, 0] * rel[..., 1] - edges[:, :, None, 1] * rel[..., 0]  # (N, 4, P)
    inside = np.all(cross >= 0, axis=1) | np.all(cross <= 0, axis=1)
    centre = q.mean(axis=1)  # (N, 2)
    cx, cy = np.floor(centre[:, 0]).astype(np.int64), np.floor(centre[:, 1]).astype(np.int64)
    in_frame = (cx >= 0) & (cx < w) & (cy >= 0) & (cy < h)
    fallback = ~inside.any(axis=1) & in_frame
    rows = np.nonzero(fallback)[0]
    inside[rows, cy[rows] * w + cx[rows]] = True
    return np.asarray(inside, dtype=np.bool_)
