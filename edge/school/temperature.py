"""Body temperature from the registered thermal frame: inner-canthus / forehead ROI, robust hot-spot statistic.

The ROI is placed from the five face landmarks (eyes first) in the visible frame, mapped into the thermal frame
through the device's homography, and read as a high percentile of its valid pixels (robust to hair, glasses and
the odd background pixel). The reading is corrected by the configured offset and, when a reference blackbody is
in view, by the blackbody's error in this very frame. No thermal data gives None, never 0.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edge.school.config import ThermalSettings
from hardware.thermal import ThermalFrame, map_roi, quad_pixel_mask

logger = logging.getLogger(__name__)


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


def _blackbody_offset(frame: NDArray[np.float32], settings: ThermalSettings) -> float | None:
    if settings.blackbody_xyxy is None or settings.blackbody_c is None:
        return 0.0
    x1, y1, x2, y2 = settings.blackbody_xyxy
    patch = frame[y1:y2, x1:x2]
    if patch.size == 0 or np.all(np.isnan(patch)):
        return None
    return float(settings.blackbody_c - np.nanmedian(patch))


def measure_temperatures(
    frame: ThermalFrame | None, landmarks: NDArray[Any], settings: ThermalSettings
) -> list[float | None]:
    """Body temperature of each face, vectorised over faces and thermal pixels.

    Args:
        frame: the radiometric frame nearest the visible frame, or None when there is none.
        landmarks: (N, 5, 2) landmarks in visible pixels.
        settings: registration, ROI kind, percentile, offsets, plausible range.

    Returns:
        N temperatures in degrees C; None where there is no frame, no valid pixel in the ROI, no blackbody
        reading, or the reading is outside the plausible range for a face.
    """
    n = int(np.asarray(landmarks).reshape(-1, 5, 2).shape[0])
    if frame is None or n == 0:
        return [None] * n
    celsius = np.asarray(frame.celsius, np.float32)
    offset = _blackbody_offset(celsius, settings)
    if offset is None:
        logger.warning("thermal frame %d: blackbody reads no data, temperatures missing", frame.index)
        return [None] * n
    quads = map_roi(settings.registration, face_roi(landmarks, settings.roi))
    mask = quad_pixel_mask(quads, celsius.shape)  # (N, P)
    values = np.where(mask, celsius.reshape(1, -1), np.nan)
    valid = np.any(mask & ~np.isnan(values), axis=1)
    readings = np.full(n, np.nan, np.float64)
    if valid.any():
        readings[valid] = np.nanpercentile(values[valid], settings.percentile, axis=1)
    body = readings + settings.offset_c + offset
    plausible = valid & (body >= settings.plausible_min_c) & (body <= settings.plausible_max_c)
    return [round(float(t), 2) if ok else None for t, ok in zip(body.tolist(), plausible.tolist(), strict=True)]
