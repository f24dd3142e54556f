"""Measurement-noise-robust geometry the rules share: the vehicle's front, smoothed line distances, crossings with
hysteresis, clipped boxes and standing still.

A detector box jitters by a pixel or more, is clipped where the vehicle leaves the frame, is missed for a few
frames or lost behind another vehicle; a rule that fires on one sample past a line fines that jitter. So:

- distances to a line are smoothed by a running median (``smooth_samples``), which a one-frame glitch cannot move;
- a crossing needs ``min_samples`` samples clear of the line by a margin on **both** sides (the margin is the larger
  of a pixel figure and a road-metre figure, converted with the track's ``metres_per_px`` when calibrated);
- the front is the box edge ahead in the direction of travel (``front_points``), the direction coming from the
  track's own motion, or its lane's direction while it has not moved;
- a box clipped by the frame edge says nothing about where that edge of the vehicle is.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from edge.traffic.rules.base import TrackView, dominant_lane, track_lanes
from edge.traffic.scene import Line, SceneConfig, signed_distance

EDGE_SHARE = 0.015  # a box edge within 1.5% of the frame's size of its edge may be clipped (jitter hides a clip)
EDGE_PX = 3.0  # and never less than this many pixels


def edge_band(size: int) -> float:
    """Pixels from a frame edge within which a box edge counts as clipped."""
    return max(EDGE_PX, EDGE_SHARE * size)


def running_median(values: NDArray[np.floating], window: int) -> NDArray[np.float64]:
    """(T,) centred running median over ``window`` samples (shorter at the ends; NaN samples are skipped)."""
    v = np.asarray(values, np.float64).reshape(-1)
    if window <= 1 or len(v) < 2:
        return v.copy()
    half = window // 2
    padded = np.concatenate([np.full(half, np.nan), v, np.full(half, np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    out = np.full(len(v), np.nan)
    some = np.isfinite(windows).any(axis=1)
    if some.any():
        out[some] = np.nanmedian(windows[some], axis=1)
    return out


def clipped(track: TrackView, scene: SceneConfig) -> NDArray[np.bool_]:
    """(T, 4) whether each box edge (x1, y1, x2, y2) touches the frame edge; all False without boxes."""
    if track.boxes_xyxy is None:
        return np.zeros((len(track), 4), bool)
    width, height = scene.image_size
    b = track.boxes_xyxy
    bx, by = edge_band(width), edge_band(height)
    edges = [b[:, 0] <= bx, b[:, 1] <= by, b[:, 2] >= width - bx, b[:, 3] >= height - by]
    return np.stack(edges, axis=1)


def travel_direction(track: TrackView, scene: SceneConfig, min_move_px: float = 12.0) -> NDArray[np.float64]:
    """(2,) unit image direction of travel: the track's net motion (medians of its first and last samples), or
    its dominant lane's legal direction while it has moved less than ``min_move_px``, else straight down."""
    xy = track.image_xy
    k = max(1, min(5, len(xy) // 3))
    move = np.median(xy[-k:], axis=0) - np.median(xy[:k], axis=0) if len(xy) else np.zeros(2)
    norm = float(np.linalg.norm(move))
    if norm >= min_move_px:
        return np.asarray(move / norm)
    lane = dominant_lane(track_lanes(track, scene))
    return scene.lanes[lane].direction if lane >= 0 else np.array([0.0, 1.0])


def front_points(track: TrackView, scene: SceneConfig) -> NDArray[np.float64]:
    """(T, 2) image point of the vehicle's front on the road in each sample.

    ``track.front_xy`` when the pipeline measured it (calibrated: rear contact point plus a conservative
    vehicle length); else the box edge ahead in the direction of travel: the bottom edge for a vehicle coming
    towards the camera (moving down the image), the top edge for one moving away; ``image_xy`` without boxes.
    """
    if track.front_xy is not None:
        return track.front_xy
    if track.boxes_xyxy is None:
        return track.image_xy
    b = track.boxes_xyxy
    toward = travel_direction(track, scene)[1] >= 0.0
    return np.stack([(b[:, 0] + b[:, 2]) / 2.0, b[:, 3] if toward else b[:, 1]], axis=1)


def margins(track: TrackView, margin_px: float, margin_m: float) -> NDArray[np.float64]:
    """(T,) margin in pixels per sample: the larger of ``margin_px`` and ``margin_m`` in that sample's pixels."""
    out = np.full(len(track), margin_px, np.float64)
    if track.metres_per_px is not None and margin_m > 0.0:
        mpp = np.where(np.isfinite(track.metres_per_px) & (track.metres_per_px > 0), track.metres_per_px, np.inf)
        out = np.maximum(out, margin_m / mpp)
    return out


def line_distance(points: NDArray[np.float64], line: Line, smooth: int) -> NDArray[np.float64]:
    """(T,) running-median signed pixel distance past the line (positive = its ``beyond`` side)."""
    return running_median(signed_distance(points, line.array()) * line.beyond_sign, smooth)


def within_segment(points: NDArray[np.float64], line: Line, slack: float = 0.05) -> NDArray[np.bool_]:
    """(T,) whether each point's foot on the line falls within the segment (plus ``slack`` of its length)."""
    seg = line.array()
    d = seg[1] - seg[0]
    u = ((np.asarray(points) - seg[0]) @ d) / float(d @ d)
    return np.asarray((u >= -slack) & (u <= 1.0 + slack))


@dataclass(frozen=True, slots=True)
class Crossing:
    """A crossing with hysteresis: the last clear sample before it, the first clear sample after it, its time.

    Attributes:
        before: index of the last sample clear of the line on the starting side.
        t_early: time of the last sample before the smoothed distance passed zero (earliest the crossing can be).
        after: index of the first sample clear of it on the other side.
        t: interpolated time the smoothed distance passed zero.
        direction: +1 from the negative to the positive side, -1 the other way.
        samples_before: clear samples in the run before.
        samples_after: clear samples in the run after.
        clear_before: largest distance from the line in the run before (px).
        clear_after: largest distance in the run after (px).
    """

    before: int
    after: int
    t: float
    t_early: float
    direction: int
    samples_before: int
    samples_after: int
    clear_before: float
    clear_after: float


def _runs(side: NDArray[np.int64]) -> list[tuple[int, list[int]]]:
    """Runs of equal non-zero side over the clear samples only: (side, indices)."""
    out: list[tuple[int, list[int]]] = []
    for i in np.flatnonzero(side != 0).tolist():
        if out and out[-1][0] == side[i]:
            out[-1][1].append(i)
        else:
            out.append((int(side[i]), [i]))
    return out


def crossings(
    t: NDArray[np.float64],
    distance: NDArray[np.float64],
    margin: NDArray[np.float64],
    min_samples: int,
    margin_positive: NDArray[np.float64] | None = None,
) -> list[Crossing]:
    """Crossings of a smoothed signed distance: runs of at least ``min_samples`` samples clear of the line by
    ``margin`` (per sample; ``margin_positive`` on the positive side when given) change side. Samples within the
    margin, NaN and shorter runs never decide anything.
    """
    d = np.asarray(distance, np.float64)
    positive = margin if margin_positive is None else np.maximum(margin, margin_positive)
    side = np.where(d >= positive, 1, np.where(d <= -margin, -1, 0)).astype(np.int64)
    side[~np.isfinite(d)] = 0
    confirmed = [(s, idx) for s, idx in _runs(side) if len(idx) >= min_samples]
    out: list[Crossing] = []
    for (s0, run0), (s1, run1) in itertools.pairwise(confirmed):
        if s0 == s1:
            continue
        i, j = run0[-1], run1[0]
        span = d[i : j + 1]
        change = np.flatnonzero(np.sign(span[:-1]) != np.sign(span[1:]))
        k = i + int(change[-1]) if len(change) else i
        d0, d1 = d[k], d[k + 1]
        frac = float(np.clip(d0 / (d0 - d1), 0.0, 1.0)) if np.isfinite(d0 - d1) and d0 != d1 else 0.5
        tc = float(t[k] + frac * (t[k + 1] - t[k]))
        clear0, clear1 = float(np.abs(d[run0]).max()), float(np.abs(d[run1]).max())
        out.append(Crossing(i, j, tc, float(t[k]), s1, len(run0), len(run1), clear0, clear1))
    return out


def stationary(
    t: NDArray[np.float64],
    points: NDArray[np.float64],
    metres_per_px: NDArray[np.float64] | None,
    speed_mps: float,
    speed_px_s: float,
    half_window_s: float = 0.5,
) -> NDArray[np.bool_]:
    """(T,) whether the vehicle stands still at each sample: the running-median point moves slower than the
    threshold (metres/s when calibrated, px/s otherwise) between samples ``half_window_s`` before and after."""
    n = len(t)
    if n < 2:
        return np.zeros(n, bool)
    xy = np.stack([running_median(points[:, 0], 5), running_median(points[:, 1], 5)], axis=1)
    lo = np.clip(np.searchsorted(t, t - half_window_s, side="left"), 0, n - 1)
    hi = np.clip(np.searchsorted(t, t + half_window_s, side="right") - 1, 0, n - 1)
    dt = np.maximum(t[hi] - t[lo], 1e-6)
    speed_px = np.linalg.norm(xy[hi] - xy[lo], axis=1) / dt
    enough = (hi - lo) >= 2
    if metres_per_px is not None:
        return np.asarray(enough & (speed_px * metres_per_px < speed_mps))
    return np.asarray(enough & (speed_px < speed_px_s))
