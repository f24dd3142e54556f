"""IoU tracker: faces in consecutive frames are linked by box overlap, so one person passing is one track.

Matching is one Hungarian assignment per frame on the IoU matrix (``models.geometry.box_iou_batch``).
A track survives ``max_missed`` frames without a detection (motion blur, a turned head) and is closed after
that; closed tracks with at least ``min_hits`` detections are reported as passes.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from edge.school.config import IouTrackerConfig
from models.detections import Detections
from models.geometry import box_iou_batch

logger = logging.getLogger(__name__)


@dataclass
class Track:
    """One followed face.

    Attributes:
        track_id: unique id (never reused by one tracker).
        box: (4,) last matched box, xyxy pixels.
        hits: frames with a detection.
        missed: consecutive frames without one.
        first_frame, last_frame: frame indices of the first and last detection.
        points: (x, y) path of the box, one per detection (for the door-line direction).
        sizes: face box width in px, one per detection (a face growing walks towards the camera).
        payload: per-track data the pipeline attaches (best frames, temperatures...).
    """

    track_id: int
    box: NDArray[np.float32]
    first_frame: int
    last_frame: int
    hits: int = 1
    missed: int = 0
    points: list[tuple[float, float]] = field(default_factory=list)
    sizes: list[float] = field(default_factory=list)
    payload: Any = None

    @property
    def path(self) -> NDArray[np.float32]:
        """(T, 2) path points."""
        return np.asarray(self.points, np.float32).reshape(-1, 2)


@dataclass(frozen=True, slots=True)
class TrackUpdate:
    """Result of one frame.

    Attributes:
        detections: the frame's detections with ``tracker_id`` set (same order as given).
        tracks: the live ``Track`` of each detection row (same order).
        finished: tracks closed in this frame that qualify as passes (``hits >= min_hits``).
        discarded: tracks closed in this frame that were too short (false detections).
    """

    detections: Detections
    tracks: list[Track]
    finished: list[Track]
    discarded: list[Track]


def match_boxes(
    track_boxes: NDArray[Any], det_boxes: NDArray[Any], iou_threshold: float
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Optimal one-to-one matching of tracks to detections by IoU.

    Args:
        track_boxes: (T, 4) xyxy.
        det_boxes: (D, 4) xyxy.
        iou_threshold: pairs below this IoU are never matched.

    Returns:
        (track_rows, det_rows): matched index pairs, each (K,).
    """
    iou = box_iou_batch(track_boxes, det_boxes)
    if iou.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rows, cols = linear_sum_assignment(-iou)
    keep = iou[rows, cols] >= iou_threshold
    return rows[keep].astype(np.int64), cols[keep].astype(np.int64)


class IouTracker:
    """Frame-to-frame IoU tracker.

    Args:
        config: IoU threshold, tolerated missed frames, minimum hits of a pass.
        point: which point of the box forms the track path (``center`` or ``bottom``).
    """

    def __init__(self, config: IouTrackerConfig, point: str = "center") -> None:
        self.config = config
        self.point = point
        self._tracks: list[Track] = []
        self._ids = itertools.count(1)

    @property
    def live(self) -> list[Track]:
        """Tracks not yet closed."""
        return list(self._tracks)

    def update(self, detections: Detections, frame_index: int) -> TrackUpdate:
        """Advance by one frame.

        Args:
            detections: (N) faces of this frame.
            frame_index: the frame's index (monotonic).
        """
        boxes = np.stack([t.box for t in self._tracks]) if self._tracks else np.zeros((0, 4), np.float32)
        t_rows, d_rows = match_boxes(boxes, detections.xyxy, self.config.iou_threshold)
        points = detections.center if self.point == "center" else detections.bottom_center
        widths = detections.xyxy[:, 2] - detections.xyxy[:, 0]
        assigned: list[Track | None] = [None] * len(detections)
        for t, d in zip(t_rows.tolist(), d_rows.tolist(), strict=True):
            track = self._tracks[t]
            track.box, track.hits, track.missed, track.last_frame = (
                detections.xyxy[d],
                track.hits + 1,
                0,
                frame_index,
            )
            track.points.append((float(points[d, 0]), float(points[d, 1])))
            track.sizes.append(float(widths[d]))
            assigned[d] = track
        matched = set(t_rows.tolist())
        for t, track in enumerate(self._tracks):
            if t not in matched:
                track.missed += 1
        for d in np.setdiff1d(np.arange(len(detections)), d_rows).tolist():
            track = Track(next(self._ids), detections.xyxy[d], frame_index, frame_index)
            track.points.append((float(points[d, 0]), float(points[d, 1])))
            track.sizes.append(float(widths[d]))
            self._tracks.append(track)
            assigned[d] = track
        closing = [
            t
            for t in self._tracks
            if t.missed > self.config.max_missed or t.last_frame - t.first_frame + 1 >= self.config.max_track_frames
        ]
        finished, discarded = self._close(closing)
        tracks = [t for t in assigned if t is not None]
        ids = np.asarray([t.track_id for t in tracks], np.int64)
        return TrackUpdate(detections.with_tracker_id(ids), tracks, finished, discarded)

    def flush(self) -> tuple[list[Track], list[Track]]:
        """Close every live track (end of stream): (passes, discarded)."""
        return self._close(list(self._tracks))

    def _close(self, closing: list[Track]) -> tuple[list[Track], list[Track]]:
        if not closing:
            return [], []
        ids = {t.track_id for t in closing}
        self._tracks = [t for t in self._tracks if t.track_id not in ids]
        finished = [t for t in closing if t.hits >= self.config.min_hits]
        discarded = [t for t in closing if t.hits < self.config.min_hits]
        return finished, discarded
