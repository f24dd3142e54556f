"""Measuring the visible->thermal mapping of a device from point pairs, and storing it with its error.

Pairs come from points visible to both cameras (corners of a heated checkerboard, a hand warmer moved around the
door), clicked in both images or, on the thermal side, detected with ``hot_spot``. ``affine`` (6 parameters,
>= 3 pairs) suits co-located cameras whose optical axes are parallel; ``homography`` (8 parameters, >= 4 pairs)
also absorbs a tilt between them and is exact for points on one plane (the door's face plane). The stored
``rms_px`` is the reprojection RMS of the pairs in thermal pixels: with a 32x24 sensor, an RMS above ~0.5 px puts a
face ROI partly on the background.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from hardware.thermal import Registration

MIN_PAIRS = {"affine": 3, "homography": 4}


def read_pairs(path: Path) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Point pairs from a CSV file with the header ``x,y,u,v``: visible pixel (x, y), thermal pixel (u, v).

    Returns:
        (N, 2) visible points and (N, 2) thermal points.
    """
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"x", "y", "u", "v"} <= set(rows[0]):
        raise ValueError(f"{path}: expected a CSV with the header x,y,u,v and one row per point pair")
    try:
        values = np.asarray([[float(r["x"]), float(r["y"]), float(r["u"]), float(r["v"])] for r in rows])
    except ValueError as exc:
        raise ValueError(f"{path}: every x,y,u,v must be a number ({exc})") from exc
    return values[:, :2], values[:, 2:]


def hot_spot(celsius: NDArray[Any], level: float = 0.3, min_contrast_c: float = 3.0) -> tuple[float, float] | None:
    """The thermal pixel position (u, v) of a heated target (a hand warmer, a heated marker), to sub-pixel.

    The centroid of the pixels warmer than ``median + level * (peak - median)``, weighted by how much warmer, in
    the frame's pixel coordinates (pixel (i, j) centred at (j + 0.5, i + 0.5)). None when nothing stands
    ``min_contrast_c`` above the median (no target in view) or the warm pixels are not one compact spot.
    """
    frame = np.asarray(celsius, np.float64)
    finite = np.isfinite(frame)
    if not finite.any():
        return None
    peak, median = float(np.nanmax(frame)), float(np.nanmedian(frame))
    if peak - median < min_contrast_c:
        return None
    floor = median + level * (peak - median)
    rows, cols = np.nonzero(finite & (frame > floor))
    if max(np.ptp(rows), np.ptp(cols)) > max(4, 0.15 * max(frame.shape)):
        return None  # two warm things (a face and the target): not a usable point
    weights = frame[rows, cols] - floor
    return float(np.average(cols + 0.5, weights=weights)), float(np.average(rows + 0.5, weights=weights))


def fit_registration(
    visible: NDArray[Any],
    thermal: NDArray[Any],
    thermal_size: tuple[int, int],
    model: Literal["affine", "homography"] = "homography",
) -> Registration:
    """Least-squares mapping of ``visible`` (N, 2) pixels onto ``thermal`` (N, 2) pixels, with its RMS error.

    Raises:
        ValueError: too few pairs, points on one line, or a mapping that cannot be inverted.
    """
    src = np.asarray(visible, np.float64).reshape(-1, 2)
    dst = np.asarray(thermal, np.float64).reshape(-1, 2)
    if len(src) != len(dst):
        raise ValueError(f"{len(src)} visible points but {len(dst)} thermal points")
    if len(src) < MIN_PAIRS[model]:
        raise ValueError(f"an {model} needs at least {MIN_PAIRS[model]} point pairs, got {len(src)}")
    centred = src - src.mean(axis=0)
    if np.linalg.matrix_rank(centred, tol=1e-6 * max(1.0, float(np.abs(centred).max()))) < 2:
        raise ValueError("the visible points lie on one line: spread them over the door's view")
    if model == "affine":
        design = np.concatenate([src, np.ones((len(src), 1))], axis=1)
        solution, *_ = np.linalg.lstsq(design, dst, rcond=None)  # (3, 2)
        matrix = np.vstack([solution.T, [0.0, 0.0, 1.0]])
    else:
        found, _ = cv2.findHomography(src, dst, 0)  # all pairs, least squares (DLT + Levenberg-Marquardt)
        if found is None:
            raise ValueError("no homography fits these pairs (degenerate configuration)")
        matrix = np.asarray(found, np.float64) / float(found[2, 2])
    mapped = Registration.from_matrix(matrix, thermal_size).map_points(src).astype(np.float64)
    rms = float(np.sqrt(np.mean(np.sum((mapped - dst) ** 2, axis=1))))
    return Registration.model_validate(
        {
            "homography": matrix.tolist(),
            "thermal_size": thermal_size,
            "model": model,
            "rms_px": round(rms, 4),
            "pairs": len(src),
        }
    )


def save_registration(path: Path, registration: Registration) -> None:
    """Write the registration as JSON (what ``school.thermal.registration_path`` points at)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(registration.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")


def load_registration(path: Path) -> Registration:
    """Read a registration written by ``save_registration``."""
    return Registration.model_validate_json(path.read_text(encoding="utf-8"))
