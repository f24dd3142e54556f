"""Body temperature from the registered thermal frame: inner-canthus / forehead ROI, robust hot-spot statistic.

The ROI is placed from the five face landmarks (eyes first) in the visible frame, mapped into the thermal frame
through the device's registration, and read as a high percentile of its valid pixels (robust to hair, glasses and
the odd background pixel). The reading is corrected by the configured offset and, when a reference blackbody is
in view, by the blackbody's error in this very frame (the sensor's drift): that correction is reported with every
reading and the pass. No thermal data gives None, never 0.

Every reading carries where its frame came from (``sensor`` or ``synthetic``) and its 1-sigma uncertainty: the
sensor's own figure without a blackbody; with one, the blackbody's set-point uncertainty combined with the pixel
noise seen on the blackbody. A pass's temperature is the median of its readings; its fever decision uses the
door's threshold with ``>=``, and both travel in the event so the backend decides the same way.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edge.school.config import ThermalSettings
from hardware.thermal import ThermalFrame, ThermalSensor, ThermalSource, map_roi, quad_pixel_mask

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reading:
    """One face's temperature in one thermal frame."""

    celsius: float
    sigma_c: float | None
    source: ThermalSource
    blackbody_offset_c: float | None


@dataclass(frozen=True, slots=True)
class PassTemperature:
    """The temperature of a pass (the median of its readings) and the door's fever decision."""

    temperature_c: float
    sigma_c: float | None
    source: ThermalSource
    blackbody_offset_c: float | None
    fever_threshold_c: float
    fever: bool
    readings: int

    def event_fields(self) -> dict[str, Any]:
        """The ``EntryEvent`` fields of this temperature."""
        return {
            "temperature_c": self.temperature_c,
            "temperature_source": self.source,
            "temperature_sigma_c": self.sigma_c,
            "fever_threshold_c": self.fever_threshold_c,
            "blackbody_offset_c": self.blackbody_offset_c,
        }

    def describe(self) -> str:
        """For people: ``37.1 +- 0.3 C``, with ``(synthetic)`` and ``FEVER (>= threshold)`` when they apply."""
        sigma = "" if self.sigma_c is None else f" +- {self.sigma_c:.1f}"
        label = " (synthetic)" if self.source == "synthetic" else ""
        return f"{self.temperature_c:.1f}{sigma} C{label}" + (f" FEVER (>= {self.fever_threshold_c:.1f})" * self.fever)


def face_roi(landmarks: NDArray[Any], kind: str) -> NDArray[np.float32]:
    """Visible-frame ROI boxes from 5-point landmarks.

    Args:
        landmarks: (N, 5, 2) points: left eye, right eye, nose, left and right mouth corner.
        kind: ``canthus`` (the strip between the eyes holding both inner canthi) or ``forehead``.

    Returns:
        (N, 4) xyxy boxes in visible pixels.
    """
    lm = np.asarray(landmarks, np.float32).reshape(-1, 5, 2)
    left, right = lm[:, 0], lm[:, 1]
    eye_dist = np.maximum(np.linalg.norm(right - left, axis=1), 1.0)
    mid = (left + right) / 2.0
    if kind == "canthus":
        half_w, top, bottom = 0.30 * eye_dist, mid[:, 1] - 0.15 * eye_dist, mid[:, 1] + 0.15 * eye_dist
    else:
        half_w, top, bottom = 0.40 * eye_dist, mid[:, 1] - 0.75 * eye_dist, mid[:, 1] - 0.35 * eye_dist
    return np.stack([mid[:, 0] - half_w, top, mid[:, 0] + half_w, bottom], axis=1).astype(np.float32)


def blackbody_offset(frame: NDArray[np.float32], settings: ThermalSettings) -> tuple[float, float] | None:
    """(correction, pixel noise) from the reference blackbody: its set temperature minus the median of its
    patch, and the patch's standard deviation. (0, 0) when no blackbody is configured; None when it reads no data.
    """
    if settings.blackbody_xyxy is None or settings.blackbody_c is None:
        return 0.0, 0.0
    x1, y1, x2, y2 = settings.blackbody_xyxy
    patch = frame[y1:y2, x1:x2]
    if patch.size == 0 or np.all(np.isnan(patch)):
        return None
    return float(settings.blackbody_c - np.nanmedian(patch)), float(np.nanstd(patch))


def _sigma(frame: ThermalFrame, settings: ThermalSettings, noise_c: float) -> float | None:
    if settings.blackbody_xyxy is not None and settings.blackbody_c is not None:
        return round(math.hypot(settings.blackbody_sigma_c, noise_c), 3)
    return settings.sigma_c if settings.sigma_c is not None else frame.sigma_c


def measure_readings(
    frame: ThermalFrame | None, landmarks: NDArray[Any], settings: ThermalSettings
) -> list[Reading | None]:
    """Body temperature of each face with its uncertainty, source and blackbody correction, vectorised over
    faces and thermal pixels.

    Args:
        frame: the radiometric frame nearest the visible frame, or None when there is none.
        landmarks: (N, 5, 2) landmarks in visible pixels.
        settings: registration, ROI kind, percentile, offsets, plausible range, blackbody.

    Returns:
        N readings; None where there is no frame, no valid pixel in the ROI, no blackbody reading, or the
        reading is outside the plausible range for a face.
    """
    n = int(np.asarray(landmarks).reshape(-1, 5, 2).shape[0])
    if frame is None or n == 0:
        return [None] * n
    celsius = np.asarray(frame.celsius, np.float32)
    reference = blackbody_offset(celsius, settings)
    if reference is None:
        logger.warning("thermal frame %d: blackbody reads no data, temperatures missing", frame.index)
        return [None] * n
    offset, noise = reference
    quads = map_roi(settings.mapping, face_roi(landmarks, settings.roi))
    mask = quad_pixel_mask(quads, celsius.shape)  # (N, P)
    values = np.where(mask, celsius.reshape(1, -1), np.nan)
    valid = np.any(mask & ~np.isnan(values), axis=1)
    readings = np.full(n, np.nan, np.float64)
    if valid.any():
        readings[valid] = np.nanpercentile(values[valid], settings.percentile, axis=1)
    body = readings + settings.offset_c + offset
    plausible = valid & (body >= settings.plausible_min_c) & (body <= settings.plausible_max_c)
    sigma = _sigma(frame, settings, noise)
    correction = round(offset, 3) if settings.blackbody_xyxy is not None and settings.blackbody_c is not None else None
    if correction is not None:
        logger.debug("thermal frame %d: blackbody correction %+.2f C", frame.index, correction)
    return [
        Reading(round(float(t), 2), sigma, frame.source, correction) if ok else None
        for t, ok in zip(body.tolist(), plausible.tolist(), strict=True)
    ]


def pass_temperature(readings: list[Reading], settings: ThermalSettings) -> PassTemperature | None:
    """A pass's temperature from its per-frame readings (None without any), decided against the door's threshold.

    Synthetic if any reading is; the uncertainty is the median of the readings' (the systematic part does not
    average out over frames of the same sensor).
    """
    if not readings:
        return None
    temperature = round(float(np.median([r.celsius for r in readings])), 2)
    sigmas = [r.sigma_c for r in readings if r.sigma_c is not None]
    offsets = [r.blackbody_offset_c for r in readings if r.blackbody_offset_c is not None]
    return PassTemperature(
        temperature_c=temperature,
        sigma_c=round(float(np.median(sigmas)), 3) if sigmas else None,
        source="synthetic" if any(r.source == "synthetic" for r in readings) else "sensor",
        blackbody_offset_c=round(float(np.median(offsets)), 3) if offsets else None,
        fever_threshold_c=settings.fever_c,
        fever=temperature >= settings.fever_c,
        readings=len(readings),
    )


def open_sensor(settings: ThermalSettings) -> ThermalSensor | None:
    """The door's thermal device as configured (None for a replay without a file)."""
    from hardware.thermal import ReplayThermalSensor

    if settings.sensor == "replay":
        if settings.replay_path is None:
            return None
        return ReplayThermalSensor(settings.replay_path, settings.tolerance_s)
    if settings.sensor == "mlx90640":
        from hardware.thermal.mlx90640 import open_mlx90640

        live = open_mlx90640(emissivity=settings.emissivity, tolerance_s=settings.tolerance_s)
    else:
        from hardware.thermal.lepton import open_lepton

        live = open_lepton(tolerance_s=settings.tolerance_s)
    if settings.sigma_c is not None:
        live.sigma_c = settings.sigma_c
    return live
