"""Small pure measures of a frame for the tamper monitor, on a downscaled grey picture (vectorised numpy/OpenCV).

All functions take ``grey``: an (H, W) uint8 picture already downscaled by ``to_grey`` (about 320 px wide), so the
monitor's cost stays a small fraction of the pipeline's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

Grey = NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Features:
    """ORB features of a picture: (N, 2) float32 points (analysed px) and (N, 32) uint8 descriptors."""

    points: NDArray[np.float32]
    descriptors: NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Motion:
    """The view's motion against the reference, from a RANSAC partial affine fit.

    Attributes:
        dx, dy: displacement of the picture centre, full-frame px.
        rotation_deg: rotation, degrees (positive: clockwise on screen, image y pointing down).
        scale: zoom factor (1 = unchanged).
        inliers: matches agreeing with the fit.
        matches: matches tried.
    """

    dx: float
    dy: float
    rotation_deg: float
    scale: float
    inliers: int
    matches: int

    @property
    def shift_px(self) -> float:
        """Length of the centre's displacement, full-frame px."""
        return math.hypot(self.dx, self.dy)


def to_grey(frame_bgr: NDArray[np.uint8], width: int) -> Grey:
    """(H, W, 3) BGR (or (H, W) grey) frame -> (h, ``width``) uint8 grey, area-averaged (never upscaled)."""
    grey = frame_bgr if frame_bgr.ndim == 2 else cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    h, w = grey.shape
    if w <= width:
        return np.ascontiguousarray(grey)
    height = max(1, round(h * width / w))
    return np.asarray(cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA), dtype=np.uint8)


def brightness_contrast(grey: Grey) -> tuple[float, float]:
    """Mean grey level and grey-level standard deviation, 0-255."""
    mean, std = cv2.meanStdDev(grey)
    return float(mean[0, 0]), float(std[0, 0])


def sharpness(grey: Grey) -> float:
    """Variance of the Laplacian (focus measure; compare only with the same camera's baseline)."""
    _, std = cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_32F, ksize=3))
    return float(std[0, 0]) ** 2


def tile_detail(grey: Grey, block: int) -> NDArray[np.float32]:
    """Fine detail per ``block`` x ``block`` tile, (rows, cols) float32: the std of the Laplacian in each tile over the
    tile's mean grey level (plus 16, so black tiles stay finite), a contrast that an exposure change leaves alone.

    Compared tile by tile with the reference, it tells a blurred or covered lens (detail gone almost everywhere) from
    a vehicle passing (detail changed in a few tiles) and from an auto-exposure dip (all tiles darker, detail the same
    share of their level); a mist, which brightens while it washes out, loses it twice over."""
    h, w = grey.shape
    rows, cols = max(1, h // block), max(1, w // block)
    th, tw = min(block, h), min(block, w)
    lap = cv2.Laplacian(grey, cv2.CV_32F, ksize=3)[: rows * th, : cols * tw].reshape(rows, th, cols, tw)
    level = grey[: rows * th, : cols * tw].astype(np.float32).reshape(rows, th, cols, tw).mean(axis=(1, 3))
    return np.asarray(lap.std(axis=(1, 3)) / (level + 16.0), dtype=np.float32)


def flat_fraction(grey: Grey, block: int, max_std: float) -> float:
    """Share of ``block`` x ``block`` tiles whose grey-level std is below ``max_std`` (featureless: a hand, a cloth)."""
    h, w = grey.shape
    rows, cols = h // block, w // block
    if rows == 0 or cols == 0:
        return 0.0
    tiles = grey[: rows * block, : cols * block].astype(np.float32).reshape(rows, block, cols, block)
    return float((tiles.std(axis=(1, 3)) < max_std).mean())


def coarse(grey: Grey, width: int) -> NDArray[np.float32]:
    """The picture area-averaged down to ``width`` px wide, float32 (for frame differences and coarse change)."""
    return to_grey(grey, width).astype(np.float32)


def layout(grey: Grey, width: int = 40, sigma: float = 3.0) -> NDArray[np.float32]:
    """The picture's layout: ``coarse`` at ``width`` px with its smoothest shading (Gaussian ``sigma`` px) taken off.

    A blur or a mist keeps it (up to its amplitude, which correlation ignores), and so does an exposure change or an
    uneven veil; a hand, a cloth or a sticker over the view replaces it."""
    small = coarse(grey, width)
    return np.asarray(small - cv2.GaussianBlur(small, (0, 0), sigma), dtype=np.float32)


def regional_correlation(
    a: NDArray[np.float32], b: NDArray[np.float32], grid: int = 3, min_share: float = 0.25
) -> float:
    """Median over a ``grid`` x ``grid`` split of ``correlation(a, b)`` per region, counting only regions where ``b``
    (the reference) has at least ``min_share`` of its overall spread; the whole-picture correlation when none has.

    A cover over the middle of the view leaves a few corners matching, and a vehicle changes a region or two: the
    median follows the bulk of the view, not its strongest structure."""
    if a.shape != b.shape:
        return 0.0
    h, w = b.shape
    spread = float(b.std())
    values = []
    for i in range(grid):
        for j in range(grid):
            rows = slice(i * h // grid, (i + 1) * h // grid)
            cols = slice(j * w // grid, (j + 1) * w // grid)
            if float(b[rows, cols].std()) >= min_share * spread > 0.0:
                values.append(correlation(a[rows, cols], b[rows, cols]))
    return float(np.median(values)) if values else correlation(a, b)


def mean_abs_diff(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    """Mean absolute grey difference of two same-shape pictures (inf when the shapes differ)."""
    if a.shape != b.shape:
        return math.inf
    return float(cv2.absdiff(a, b).mean())


def correlation(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    """Zero-mean normalised cross-correlation of two same-shape pictures, -1..1 (0 when either is uniform)."""
    if a.shape != b.shape:
        return 0.0
    x, y = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return 0.0 if norm < 1e-6 else float((x * y).sum()) / norm


def orb_features(grey: Grey, n_features: int) -> Features:
    """ORB keypoints and descriptors of ``grey``, histogram-equalised first so that flat, low-contrast scenes (a grey
    car park) still give points and an auto-exposure dip changes them little."""
    orb = cv2.ORB_create(  # type: ignore[attr-defined]
        nfeatures=n_features, fastThreshold=8, edgeThreshold=8, patchSize=15
    )
    keypoints, descriptors = orb.detectAndCompute(cv2.equalizeHist(grey), None)
    if descriptors is None or not keypoints:
        return Features(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8))
    points = np.array([k.pt for k in keypoints], dtype=np.float32).reshape(-1, 2)
    return Features(points, np.asarray(descriptors, dtype=np.uint8))


def estimate_motion(reference: Features, current: Features, size: tuple[int, int], scale: float) -> Motion | None:
    """The view's motion from ``reference`` to ``current`` by cross-checked Hamming matches and RANSAC.

    Args:
        reference: features of the reference picture.
        current: features of the current picture (same analysed size).
        size: (width, height) of the analysed pictures, px.
        scale: full-frame px per analysed px (shifts are reported in full-frame px).

    Returns:
        The motion, or None when too few matches exist to fit one.
    """
    if len(reference.points) < 4 or len(current.points) < 4:
        return None
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
    matches = matcher.match(reference.descriptors, current.descriptors)
    if len(matches) < 4:
        return None
    src = reference.points[[m.queryIdx for m in matches]]
    dst = current.points[[m.trainIdx for m in matches]]
    affine, mask = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=2.0)
    if affine is None or mask is None:
        return None
    a, b = float(affine[0, 0]), float(affine[1, 0])
    centre = np.array([size[0] / 2.0, size[1] / 2.0, 1.0])
    moved = affine @ centre - centre[:2]
    return Motion(
        dx=float(moved[0]) * scale,
        dy=float(moved[1]) * scale,
        rotation_deg=math.degrees(math.atan2(b, a)),
        scale=math.hypot(a, b),
        inliers=int(mask.sum()),
        matches=len(matches),
    )


@dataclass(frozen=True, slots=True)
class PhaseShift:
    """Where a picture's content sits against another's, by phase correlation.

    Attributes:
        dx, dy: displacement (px of the pictures compared, or full-frame px once scaled).
        response: height of the correlation peak (about 0 for unrelated pictures, near 1 for the same scene).
    """

    dx: float
    dy: float
    response: float

    @property
    def shift_px(self) -> float:
        """Length of the displacement."""
        return math.hypot(self.dx, self.dy)


def phase_shift(picture: NDArray[np.float32], reference: NDArray[np.float32]) -> PhaseShift:
    """Phase correlation of ``picture`` against ``reference`` (same shape, Hanning-windowed): where the reference's
    content is in the picture, and how strongly. Whitened, so a dimmer or veiled picture of the same scene still
    peaks; a whole-view cover or an unrelated view gives no peak (response near 0)."""
    if picture.shape != reference.shape or min(picture.shape) < 8:
        return PhaseShift(0.0, 0.0, 0.0)
    window = cv2.createHanningWindow((picture.shape[1], picture.shape[0]), cv2.CV_32F)
    # OpenCV multiplies its inputs by the window in place: hand it copies so the caller's reference stays as it is
    (dx, dy), response = cv2.phaseCorrelate(reference.copy(), picture.copy(), window)
    return PhaseShift(float(dx), float(dy), float(response))


def change_share(picture: NDArray[np.float32], previous: NDArray[np.float32], level: float) -> float:
    """Share of the pixels of two same-shape coarse pictures that differ by more than ``level`` of their mean grey
    level, each picture first divided by its own mean (so an exposure change alone changes nothing); 1 when the
    shapes differ."""
    if picture.shape != previous.shape:
        return 1.0
    a = picture / max(float(picture.mean()), 1.0)
    b = previous / max(float(previous.mean()), 1.0)
    return float((np.abs(a - b) > level).mean())
