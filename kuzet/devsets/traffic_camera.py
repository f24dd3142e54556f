"""The camera of a generated traffic scenario: a pinhole above the road, its scene drawn in image pixels, and the
boxes a detector would give for 3-D vehicles (``kuzet.devsets.traffic``).

Road coordinates: X metres to the right, Y metres ahead of the camera along the road, Z up. The camera stands at
``(x0, 0, height)``, turned by ``yaw`` and tilted down by ``tilt``. A vehicle is a box of its class's length, width
and height on the road; its detection box is the image bounding box of its eight corners, clipped to the frame
(``None`` when less than a sliver is in view or it is too small for a detector).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

SIZES = ((1920, 1080), (1280, 720), (2560, 1440), (960, 540))
DIMENSIONS = {"car": (4.5, 1.8, 1.5), "bus": (12.0, 2.55, 3.1), "truck": (8.0, 2.5, 3.2), "motorcycle": (2.1, 0.8, 1.4)}
LANE_W = 3.5
MIN_BOX_PX = 12.0  # smaller boxes: the detector misses the vehicle


@dataclass(frozen=True, slots=True)
class Camera:
    """A pinhole camera above the road."""

    size: tuple[int, int]
    focal: float
    height: float
    tilt_deg: float
    yaw_deg: float
    x0: float

    def _extrinsics(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        t, y = math.radians(self.tilt_deg), math.radians(self.yaw_deg)
        yaw = np.array([[math.cos(y), -math.sin(y), 0], [math.sin(y), math.cos(y), 0], [0, 0, 1]])
        # camera axes (x right, y down, z forward) in road coordinates, tilted down by t
        base = np.array([[1, 0, 0], [0, -math.sin(t), -math.cos(t)], [0, math.cos(t), -math.sin(t)]])
        return base @ yaw.T, np.array([self.x0, 0.0, self.height])

    def project(self, points: NDArray[np.floating]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """(N, 3) road points -> (N, 2) pixels and (N,) whether each is in front of the camera."""
        r, c = self._extrinsics()
        cam = (np.asarray(points, np.float64).reshape(-1, 3) - c) @ r.T
        w, h = self.size
        k = np.array([[self.focal, 0, w / 2.0], [0, self.focal, h / 2.0], [0, 0, 1]])
        pix = cam @ k.T
        depth = cam[:, 2]
        return pix[:, :2] / np.where(np.abs(depth) < 1e-9, 1e-9, depth)[:, None], depth > 0.5

    def ground(self, xy: NDArray[np.floating]) -> NDArray[np.float64]:
        """(N, 2) road-plane points -> (N, 2) pixels."""
        pts = np.asarray(xy, np.float64).reshape(-1, 2)
        return self.project(np.column_stack([pts, np.zeros(len(pts))]))[0]

    def to_road(self, pixels: NDArray[np.floating]) -> NDArray[np.float64]:
        """(N, 2) pixels -> (N, 2) road-plane points (exact inverse of ``ground``)."""
        corners = np.array([[-5.0, 10.0], [5.0, 10.0], [-5.0, 40.0], [5.0, 40.0]])
        h, _ = cv2.findHomography(self.ground(corners), corners, 0)
        p = np.column_stack([np.asarray(pixels, np.float64).reshape(-1, 2), np.ones(len(pixels))]) @ h.T
        return np.asarray(p[:, :2] / p[:, 2:3])

    def near_far(self) -> tuple[float, float]:
        """Road distance (Y) seen at the bottom-centre of the frame, and at 15% of the height from the top."""
        w, h = self.size
        road = self.to_road(np.array([[w / 2.0, h - 1.0], [w / 2.0, 0.15 * h]]))
        far = road[1, 1] if road[1, 1] > road[0, 1] else 200.0
        return float(road[0, 1]), float(min(far, 200.0))

    def box(self, centre: tuple[float, float], heading: float, kind: str) -> tuple[NDArray[np.float64], bool] | None:
        """The clipped image box of a vehicle at road ``centre`` heading ``heading`` radians (0 = +Y), whether
        it was clipped; None when not (enough) in view."""
        length, width, height = DIMENSIONS[kind]
        fx, fy = math.sin(heading), math.cos(heading)
        corners = []
        for a in (-0.5, 0.5):
            for b in (-0.5, 0.5):
                x = centre[0] + a * length * fx + b * width * fy
                y = centre[1] + a * length * fy - b * width * fx
                corners += [(x, y, 0.0), (x, y, height)]
        pix, front = self.project(np.array(corners))
        if not front.all():
            return None
        w, h = self.size
        raw = np.array([pix[:, 0].min(), pix[:, 1].min(), pix[:, 0].max(), pix[:, 1].max()])
        clip = np.clip(raw, [0, 0, 0, 0], [w, h, w, h])
        if clip[2] - clip[0] < MIN_BOX_PX or clip[3] - clip[1] < MIN_BOX_PX:
            return None
        if (clip[2] - clip[0]) * (clip[3] - clip[1]) < 0.3 * (raw[2] - raw[0]) * (raw[3] - raw[1]):
            return None
        return clip, bool(np.any(np.abs(clip - raw) > 0.01))


def random_camera(rng: np.random.Generator) -> Camera:
    """A camera of random size, focal length, height, tilt and yaw that sees the road from ~8 m to ~60 m."""
    while True:
        size = SIZES[int(rng.integers(len(SIZES)))]
        camera = Camera(
            size=size,
            focal=float(size[0] * rng.uniform(0.8, 1.4)),
            height=float(rng.uniform(5.0, 10.0)),
            tilt_deg=float(rng.uniform(10.0, 24.0)),
            yaw_deg=float(rng.uniform(-6.0, 6.0)),
            x0=float(rng.uniform(-4.0, 4.0)),
        )
        near, far = camera.near_far()
        if 5.0 < near < 22.0 and far > near + 30.0:
            return camera


def clip_polygon(camera: Camera, road_polygon: NDArray[np.float64]) -> list[list[float]] | None:
    """The image polygon of a road polygon, clipped to the frame (None when it leaves less than a sliver)."""
    w, h = camera.size
    pix = camera.ground(road_polygon).astype(np.float32)
    frame = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    area, inter = cv2.intersectConvexConvex(pix, frame)
    if inter is None or area < 100.0:
        return None
    return [[round(float(x), 1), round(float(y), 1)] for x, y in inter.reshape(-1, 2)]


def clip_segment(camera: Camera, a: tuple[float, float], b: tuple[float, float]) -> list[list[float]] | None:
    """Image endpoints of a road segment, shortened to the part inside the frame (None when outside)."""
    w, h = camera.size
    pa, pb = camera.ground(np.array([a, b]))
    steps = np.linspace(0.0, 1.0, 201)
    pts = pa + np.outer(steps, pb - pa)
    inside = (pts[:, 0] >= 1) & (pts[:, 0] <= w - 1) & (pts[:, 1] >= 1) & (pts[:, 1] <= h - 1)
    if inside.sum() < 10:
        return None
    idx = np.flatnonzero(inside)
    return [[round(float(v), 1) for v in pts[idx[0]]], [round(float(v), 1) for v in pts[idx[-1]]]]


def beyond_side(camera: Camera, p1: list[float], p2: list[float], past: tuple[float, float]) -> str:
    """Which side of image ``p1 -> p2`` a road point past the line falls on, as the scene says it."""
    q = camera.ground(np.array([past]))[0]
    cross = (p2[0] - p1[0]) * (q[1] - p1[1]) - (p2[1] - p1[1]) * (q[0] - p1[0])
    return "right" if cross > 0 else "left"


def image_direction(camera: Camera, at: tuple[float, float], ahead: tuple[float, float]) -> float:
    """Image angle (degrees, 0 = right, 90 = down) of travel from road point ``at`` towards ``ahead``."""
    a, b = camera.ground(np.array([at, ahead]))
    return round(math.degrees(math.atan2(b[1] - a[1], b[0] - a[0])), 2)
