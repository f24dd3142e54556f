"""Entered or left: which way a track's path crosses the door line (vectorised segment crossing)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from edge.school.config import DoorConfig

Direction = Literal["entered", "left", "unknown"]


def _cross(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return out


def crossings(path: NDArray[Any], line: NDArray[Any]) -> NDArray[np.int64]:
    """Signed crossings of a polyline with a line segment, one per path step.

    Args:
        path: (T, 2) points in time order.
        line: (2, 2) segment ends (a, b), same units as ``path``.

    Returns:
        (T-1,) int64: +1 where step t crosses from the right to the left of the directed line a->b (in image
        coordinates, y down, "left" is the side where the cross product (b-a) x (p-a) is negative), -1 the
        other way, 0 where it does not cross within the segment.
    """
    p = np.asarray(path, np.float64).reshape(-1, 2)
    a, b = np.asarray(line, np.float64).reshape(2, 2)
    if len(p) < 2:
        return np.zeros(0, np.int64)
    d = b - a
    side = _cross(np.broadcast_to(d, p.shape), p - a)  # (T,) >0 right, <0 left (image y down)
    s0, s1 = side[:-1], side[1:]
    changes = (np.sign(s0) != np.sign(s1)) & (s0 != 0)
    step = p[1:] - p[:-1]
    denom = _cross(step, np.broadcast_to(d, step.shape))
    safe = np.where(np.abs(denom) < 1e-12, 1.0, denom)
    u = _cross(a - p[:-1], step) / safe  # position along the door segment, in [0, 1] when within it
    within = changes & (np.abs(denom) >= 1e-12) & (u >= 0.0) & (u <= 1.0)
    return np.where(within, np.where(s1 < s0, 1, -1), 0).astype(np.int64)


def track_direction(path: NDArray[Any], config: DoorConfig, frame_size: tuple[int, int]) -> Direction:
    """Entered or left from the net crossings of the track's path; ``unknown`` when it never crosses.

    Args:
        path: (T, 2) track points in pixels.
        config: the door line (fractions of the frame) and which side is inside.
        frame_size: (width, height) of the frame, to scale the line.
    """
    if config.line is None:
        return "unknown"
    line = np.asarray(config.line, np.float64) * np.asarray(frame_size, np.float64)
    net = int(crossings(path, line).sum())
    if net == 0:
        return "unknown"
    to_left = net > 0
    return "entered" if to_left == (config.inside == "left") else "left"
