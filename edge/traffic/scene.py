"""Scene geometry of one traffic camera: lanes, painted lines, signal head, and vectorised helpers.

Coordinate convention: every polygon and line is in **image pixels** of the camera's full frame, (x, y)
with the origin top-left and y pointing down, the same frame as ``Detections.xyxy``. Distances in metres
come from the camera calibration (the homography owned by the perception pipeline), which fills
``TrackView.road_xy``; the scene itself holds no metric geometry, so re-calibrating a camera never
invalidates its scene file.

Sides of a directed line ``p1 -> p2``: the sign of the 2-D cross product ``(p2 - p1) x (q - p1)``. Because
y points down, a positive sign means ``q`` lies on the **right** of ``p1 -> p2`` as seen on screen. A
crossing from the left side to the right side has direction ``+1``; right to left is ``-1``.

Directions (``Lane.direction_deg``) are image-plane angles: 0 = towards +x (right), 90 = towards +y (down
the image)."""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator

from kuzet.config import StrictModel

Point = tuple[float, float]
_COORD = Field(description="(x, y) in image pixels")
SceneId = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Identifier")


class LaneKind(StrEnum):
    """What traffic a lane is for."""

    NORMAL = "normal"
    BUS = "bus"


class LineKind(StrEnum):
    """What a painted or virtual line means."""

    STOP = "stop"
    JUNCTION_ENTRY = "junction_entry"
    SOLID = "solid"
    DASHED = "dashed"
    COUNTING = "counting"


class TimeWindow(StrictModel):
    """A daily window of local time on some weekdays; ``end < start`` wraps past midnight."""

    start: time = Field(description="Local start time, e.g. 07:00")
    end: time = Field(description="Local end time, e.g. 10:00 (exclusive)")
    weekdays: tuple[int, ...] = Field(
        default=(0, 1, 2, 3, 4, 5, 6), min_length=1, max_length=7, description="ISO weekday - 1 (0 = Monday)"
    )

    @model_validator(mode="after")
    def _check(self) -> TimeWindow:
        if any(d < 0 or d > 6 for d in self.weekdays):
            raise ValueError("weekdays must be in 0..6 (0 = Monday)")
        if self.start == self.end:
            raise ValueError("a time window needs start != end")
        return self


class Lane(StrictModel):
    """One traffic lane: its image polygon, legal direction, limit and kind."""

    id: str = SceneId
    polygon: tuple[Point, ...] = Field(min_length=3, max_length=64, description="Lane outline, image pixels")
    direction_deg: float = Field(
        ge=-360.0, le=360.0, description="Legal travel direction in the image (0 = right, 90 = down)"
    )
    kind: LaneKind = Field(default=LaneKind.NORMAL, description="normal or bus lane")
    speed_limit_kmh: float = Field(default=60.0, gt=0.0, le=200.0, description="Posted speed limit")
    speed_tolerance_kmh: float = Field(
        default=10.0,
        ge=0.0,
        le=50.0,
        description="Speed above the limit that is tolerated before a violation",
    )
    bus_hours: tuple[TimeWindow, ...] = Field(
        default=(), max_length=16, description="When a bus lane is reserved; empty = always (bus lanes only)"
    )

    @property
    def direction(self) -> NDArray[np.float64]:
        """(2,) unit vector of legal travel in image coordinates."""
        rad = math.radians(self.direction_deg)
        return np.array([math.cos(rad), math.sin(rad)], dtype=np.float64)

    def polygon_array(self) -> NDArray[np.float64]:
        """(M, 2) float64 polygon vertices."""
        return np.asarray(self.polygon, dtype=np.float64)


class Line(StrictModel):
    """A line segment between two image points (stop line, lane marking, or counting line)."""

    id: str = SceneId
    p1: Point = _COORD
    p2: Point = _COORD
    kind: LineKind = Field(description="stop, junction_entry, solid, dashed or counting")
    beyond: Literal["right", "left"] = Field(
        default="right",
        description="For stop and junction-entry lines: which side of p1->p2 (as seen on screen) is past the line",
    )
    lanes: tuple[str, ...] = Field(
        default=(), max_length=16, description="Lane ids the line governs (stop lines); empty = every lane"
    )
    signal: str | None = Field(
        default=None,
        max_length=32,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Signal head governing the line (stop, junction entry); None = the camera's one signal",
    )

    @model_validator(mode="after")
    def _check(self) -> Line:
        if math.dist(self.p1, self.p2) < 1.0:
            raise ValueError(f"line {self.id!r} has p1 == p2 (length < 1 px)")
        return self

    @property
    def beyond_sign(self) -> int:
        """+1 when the right side of p1->p2 is past the line, -1 when the left side is."""
        return 1 if self.beyond == "right" else -1

    def array(self) -> NDArray[np.float64]:
        """(2, 2) float64 endpoints [p1, p2]."""
        return np.asarray([self.p1, self.p2], dtype=np.float64)


class SceneConfig(StrictModel):
    """Geometry of one traffic camera's view; validated for unique ids and in-frame coordinates."""

    image_size: tuple[int, int] = Field(description="(width, height) of the frames the geometry refers to")
    lanes: tuple[Lane, ...] = Field(default=(), max_length=32, description="Traffic lanes")
    lines: tuple[Line, ...] = Field(default=(), max_length=64, description="Stop, solid, dashed and counting lines")
    signal_roi: tuple[int, int, int, int] | None = Field(
        default=None, description="(x1, y1, x2, y2) pixels of the signal head for the camera-based classifier"
    )
    utc_offset_minutes: int = Field(
        default=300, ge=-720, le=840, description="Local time offset for bus hours (Kazakhstan: +300)"
    )
    location: str = Field(default="", max_length=200, description="Human-readable place, for evidence")

    @model_validator(mode="after")
    def _check(self) -> SceneConfig:
        width, height = self.image_size
        if not (16 <= width <= 10_000 and 16 <= height <= 10_000):
            raise ValueError("image_size must be within 16..10000 px per side")
        for kind, ids in (("lane", [a.id for a in self.lanes]), ("line", [b.id for b in self.lines])):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} ids: {dupes}")
        lane_ids = {lane.id for lane in self.lanes}
        for line in self.lines:
            unknown = sorted(set(line.lanes) - lane_ids)
            if unknown:
                raise ValueError(f"line {line.id!r} names unknown lanes {unknown}")
        points = [p for lane in self.lanes for p in lane.polygon] + [p for b in self.lines for p in (b.p1, b.p2)]
        if self.signal_roi is not None:
            x1, y1, x2, y2 = self.signal_roi
            if not (x2 > x1 and y2 > y1):
                raise ValueError("signal_roi needs x2 > x1 and y2 > y1")
            points += [(x1, y1), (x2, y2)]
        outside = [p for p in points if not (0 <= p[0] <= width and 0 <= p[1] <= height)]
        if outside:
            raise ValueError(f"points outside the {width}x{height} frame: {outside[:3]}")
        return self

    def lines_of(self, kind: LineKind) -> tuple[Line, ...]:
        """Lines of one kind, in file order."""
        return tuple(b for b in self.lines if b.kind == kind)

    @property
    def stop_lines(self) -> tuple[Line, ...]:
        """Stop lines."""
        return self.lines_of(LineKind.STOP)

    @property
    def junction_lines(self) -> tuple[Line, ...]:
        """Junction-entry lines (a front crossing one on red runs the light)."""
        return self.lines_of(LineKind.JUNCTION_ENTRY)

    @property
    def solid_lines(self) -> tuple[Line, ...]:
        """Solid lane markings (crossing is a violation)."""
        return self.lines_of(LineKind.SOLID)

    @property
    def dashed_lines(self) -> tuple[Line, ...]:
        """Dashed lane markings (crossing is allowed)."""
        return self.lines_of(LineKind.DASHED)

    @property
    def counting_lines(self) -> tuple[Line, ...]:
        """Virtual counting lines."""
        return self.lines_of(LineKind.COUNTING)

    def lane(self, lane_id: str) -> Lane:
        """The lane with this id (KeyError when absent)."""
        for lane in self.lanes:
            if lane.id == lane_id:
                return lane
        raise KeyError(lane_id)

    def local_time(self, t: float) -> datetime:
        """Unix seconds to the scene's local wall-clock time (fixed UTC offset)."""
        return datetime.fromtimestamp(t, tz=timezone(timedelta(minutes=self.utc_offset_minutes)))


def in_window(windows: tuple[TimeWindow, ...], when: datetime) -> bool:
    """Whether a local time falls in any window (empty tuple = always)."""
    if not windows:
        return True
    now = when.time()
    for window in windows:
        if window.start < window.end:
            hit = window.start <= now < window.end and when.weekday() in window.weekdays
        else:  # wraps midnight: the part after midnight belongs to the previous day's window
            day = when.weekday() if now >= window.start else (when.weekday() - 1) % 7
            hit = (now >= window.start or now < window.end) and day in window.weekdays
        if hit:
            return True
    return False


def points_in_polygon(points: NDArray[np.floating], polygon: NDArray[np.floating]) -> NDArray[np.bool_]:
    """Even-odd ray casting for many points against one polygon.

    Args:
        points: (N, 2) x, y.
        polygon: (M, 2) vertices, M >= 3, open or closed.

    Returns:
        (N,) bool, True inside (points exactly on an edge may fall either way).
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 0:
        return np.zeros(0, dtype=bool)
    a, b = poly, np.roll(poly, -1, axis=0)  # edges a[k] -> b[k], (M, 2)
    px, py = pts[:, 0:1], pts[:, 1:2]  # (N, 1)
    straddle = (a[:, 1] > py) != (b[:, 1] > py)  # (N, M)
    dy = np.where(b[:, 1] == a[:, 1], 1.0, b[:, 1] - a[:, 1])
    x_cross = a[:, 0] + (py - a[:, 1]) * (b[:, 0] - a[:, 0]) / dy
    hits = straddle & (px < x_cross)
    return np.asarray(np.count_nonzero(hits, axis=1) % 2 == 1)


def lane_index(points: NDArray[np.floating], scene: SceneConfig) -> NDArray[np.int64]:
    """Index into ``scene.lanes`` of the first lane containing each point, -1 when in none.

    Args:
        points: (N, 2) image pixels.

    Returns:
        (N,) int64.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    out = np.full(len(pts), -1, dtype=np.int64)
    for k in range(len(scene.lanes) - 1, -1, -1):  # reversed so the first listed lane wins overlaps
        out[points_in_polygon(pts, scene.lanes[k].polygon_array())] = k
    return out


def side_of_line(points: NDArray[np.floating], line: NDArray[np.floating]) -> NDArray[np.float64]:
    """Signed cross product of each point against the directed line p1->p2 (positive = right side on screen).

    Args:
        points: (N, 2).
        line: (2, 2) [p1, p2].

    Returns:
        (N,) float64; its magnitude is the distance to the infinite line times the line length.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    p1, p2 = np.asarray(line, dtype=np.float64).reshape(2, 2)
    d = p2 - p1
    return np.asarray(d[0] * (pts[:, 1] - p1[1]) - d[1] * (pts[:, 0] - p1[0]))


def signed_distance(points: NDArray[np.floating], line: NDArray[np.floating]) -> NDArray[np.float64]:
    """(N,) signed pixel distance to the infinite line through p1->p2 (positive = right side)."""
    seg = np.asarray(line, dtype=np.float64).reshape(2, 2)
    return side_of_line(points, seg) / float(np.linalg.norm(seg[1] - seg[0]))


def path_crossings(
    path: NDArray[np.floating], line: NDArray[np.floating]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Where a polyline path crosses a finite line segment.

    A point exactly on the line counts as being on its left, so a path that touches the line and returns does
    not cross it, and one that stops on it has not yet crossed it.

    Args:
        path: (T, 2) positions in order.
        line: (2, 2) [p1, p2].

    Returns:
        ``(index, direction)``: (K,) int64 indices i such that the step from sample i to i + 1 crosses, and
        (K,) int64 +1 for a left-to-right crossing, -1 for right-to-left.
    """
    pts = np.asarray(path, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    seg = np.asarray(line, dtype=np.float64).reshape(2, 2)
    side = np.where(side_of_line(pts, seg) > 0, 1, -1)
    change = np.flatnonzero(side[:-1] != side[1:])
    a, b = pts[change], pts[change + 1]
    # the line's endpoints must lie on opposite sides (or on) each crossing step
    step = b - a
    c1 = step[:, 0] * (seg[0, 1] - a[:, 1]) - step[:, 1] * (seg[0, 0] - a[:, 0])
    c2 = step[:, 0] * (seg[1, 1] - a[:, 1]) - step[:, 1] * (seg[1, 0] - a[:, 0])
    ok = c1 * c2 <= 0
    idx = change[ok].astype(np.int64)
    return idx, side[idx + 1].astype(np.int64)


def crossing_times(
    t: NDArray[np.floating], path: NDArray[np.floating], line: NDArray[np.floating], index: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Interpolated time at which each crossing step meets the line.

    Args:
        t: (T,) sample times.
        path: (T, 2) positions.
        line: (2, 2) [p1, p2].
        index: (K,) step indices from ``path_crossings``.

    Returns:
        (K,) float64 times.
    """
    times = np.asarray(t, dtype=np.float64)
    s = side_of_line(np.asarray(path, dtype=np.float64), line)
    s0, s1 = s[index], s[index + 1]
    frac = np.clip(s0 / np.where(s0 == s1, 1.0, s0 - s1), 0.0, 1.0)
    return np.asarray(times[index] + frac * (times[index + 1] - times[index]))


def path_length(path: NDArray[np.floating]) -> float:
    """Total length of a (T, 2) polyline in its own units."""
    pts = np.asarray(path, dtype=np.float64).reshape(-1, 2)
    return float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum()) if len(pts) > 1 else 0.0
