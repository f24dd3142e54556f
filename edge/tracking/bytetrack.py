"""ByteTrack-style multi-object tracker (Zhang et al. 2022) on columnar ``Detections``.

Two-stage association: confirmed and lost tracks are matched to high-confidence boxes first, then the still
unmatched confirmed tracks to the low-confidence boxes (occluded or blurred vehicles), then tentative tracks to the
remaining high boxes. IoU is computed for all pairs at once; assignment is Hungarian (scipy). A track gets a public
id only when confirmed (``min_hits`` consecutive matches), so a one-frame flicker never produces an id or an event.
State is held as parallel arrays (struct of arrays) so Kalman predict/update run over all tracks at once.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numpy.typing import NDArray
from pydantic import Field
from scipy.optimize import linear_sum_assignment

from edge.tracking.kalman import BoxKalman, cxcywh_to_xyxy
from kuzet.config import StrictModel
from models.detections import NO_TRACK, Detections
from models.geometry import box_iou_batch


class TrackState(IntEnum):
    """Life cycle of a track."""

    TENTATIVE = 0
    CONFIRMED = 1
    LOST = 2
    REMOVED = 3


class TrackerConfig(StrictModel):
    """ByteTrack thresholds (defaults follow the paper's public configuration, tuned for roadside vehicles).

    The school door's face tracker is a different, simpler one with its own ``edge.school.config.IouTrackerConfig``.
    """

    high_threshold: float = Field(default=0.5, ge=0.05, le=0.99, description="Boxes at or above: first stage")
    low_threshold: float = Field(default=0.1, ge=0.01, le=0.9, description="Boxes below are ignored entirely")
    new_track_threshold: float = Field(default=0.6, ge=0.05, le=0.99, description="Score needed to start a track")
    match_iou: float = Field(default=0.2, ge=0.01, le=0.95, description="Min IoU, first (high-score) stage")
    low_match_iou: float = Field(default=0.5, ge=0.01, le=0.95, description="Min IoU, second (low-score) stage")
    tentative_match_iou: float = Field(default=0.3, ge=0.01, le=0.95, description="Min IoU for tentative tracks")
    min_hits: int = Field(default=3, ge=1, le=30, description="Consecutive matches before a track is confirmed")
    lost_buffer: int = Field(default=30, ge=1, le=600, description="Detector frames a lost track is kept")


def _assign(
    track_boxes: NDArray[np.float32], det_boxes: NDArray[np.float32], min_iou: float
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Hungarian matching on 1 - IoU; pairs below ``min_iou`` are rejected.

    Returns:
        (M,) track row indices and (M,) detection row indices of the accepted pairs.
    """
    if len(track_boxes) == 0 or len(det_boxes) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    iou = box_iou_batch(track_boxes, det_boxes)
    cost = np.where(iou >= min_iou, 1.0 - iou, 1e6)
    rows, cols = linear_sum_assignment(cost)
    ok = iou[rows, cols] >= min_iou
    return rows[ok].astype(np.int64), cols[ok].astype(np.int64)


class ByteTracker:
    """Tracks boxes across frames; call ``update`` on detector frames and ``predict_only`` on skipped ones.

    Args:
        config: thresholds and life-cycle lengths.
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.kalman = BoxKalman()
        self._next_id = 0
        self.removed_ids: list[int] = []
        self._reset_arrays()

    def _reset_arrays(self) -> None:
        self.ids = np.zeros(0, np.int64)
        self.state = np.zeros(0, np.int8)
        self.mean = np.zeros((0, 8))
        self.cov = np.zeros((0, 8, 8))
        self.hits = np.zeros(0, np.int64)
        self.missed = np.zeros(0, np.int64)

    @property
    def boxes(self) -> NDArray[np.float32]:
        """(N, 4) current (predicted or corrected) boxes of every live track."""
        return cxcywh_to_xyxy(self.mean[:, :4])

    def predict_only(self) -> Detections:
        """Advance every track one frame without a detector result (the frame plan skipped this frame).

        Returns:
            Predicted boxes of confirmed tracks, ``tracker_id`` set, ``data["measured"]`` all False.
        """
        self.removed_ids = []
        self.mean, self.cov = self.kalman.predict(self.mean, self.cov)
        rows = np.flatnonzero(self.state == TrackState.CONFIRMED)
        boxes = self.boxes[rows]
        return Detections.build(
            boxes, np.zeros(len(rows)), tracker_id=self.ids[rows], data={"measured": np.zeros(len(rows), bool)}
        )

    def update(self, detections: Detections) -> Detections:
        """Associate one frame's detections with the tracks.

        Args:
            detections: boxes of this frame (any classes; matching is class-agnostic).

        Returns:
            The detections that belong to confirmed tracks, with ``tracker_id`` set and ``data["measured"]`` True.
            Ids of confirmed tracks that ended in this call are in ``removed_ids``.
        """
        cfg = self.config
        self.removed_ids = []
        self.mean, self.cov = self.kalman.predict(self.mean, self.cov)
        conf = detections.confidence
        high = np.flatnonzero(conf >= cfg.high_threshold)
        low = np.flatnonzero((conf >= cfg.low_threshold) & (conf < cfg.high_threshold))
        matched_track = np.full(len(self.ids), -1, np.int64)  # detection row per track row
        pool = np.flatnonzero((self.state == TrackState.CONFIRMED) | (self.state == TrackState.LOST))
        used_high = self._match(pool, high, detections, cfg.match_iou, matched_track)
        still = pool[(matched_track[pool] < 0) & (self.state[pool] == TrackState.CONFIRMED)]
        self._match(still, low, detections, cfg.low_match_iou, matched_track)
        tentative = np.flatnonzero(self.state == TrackState.TENTATIVE)
        rest_high = np.setdiff1d(high, used_high)
        used_rest = self._match(tentative, rest_high, detections, cfg.tentative_match_iou, matched_track)
        self._apply_matches(matched_track, detections)
        self._age_unmatched(matched_track)
        rows = np.flatnonzero((matched_track >= 0) & (self.state == TrackState.CONFIRMED))
        out = detections[matched_track[rows]].with_tracker_id(self.ids[rows])
        new = np.setdiff1d(rest_high, used_rest)
        born = detections[new[conf[new] >= cfg.new_track_threshold]]
        born_ids = self._start_tracks(born)
        if len(born_ids):
            out = Detections.concat([out, born.with_tracker_id(born_ids)])
        return out.with_columns(measured=np.ones(len(out), bool))

    def _match(
        self,
        track_rows: NDArray[np.int64],
        det_rows: NDArray[np.int64],
        detections: Detections,
        min_iou: float,
        matched_track: NDArray[np.int64],
    ) -> NDArray[np.int64]:
        """Match a subset of tracks to a subset of detections; writes ``matched_track``, returns used det rows."""
        t, d = _assign(self.boxes[track_rows], detections.xyxy[det_rows], min_iou)
        matched_track[track_rows[t]] = det_rows[d]
        return det_rows[d]

    def _apply_matches(self, matched_track: NDArray[np.int64], detections: Detections) -> None:
        rows = np.flatnonzero(matched_track >= 0)
        self.mean[rows], self.cov[rows] = self.kalman.update(
            self.mean[rows], self.cov[rows], detections.xyxy[matched_track[rows]]
        )
        self.hits[rows] += 1
        self.missed[rows] = 0
        was_lost = rows[self.state[rows] == TrackState.LOST]
        self.state[was_lost] = TrackState.CONFIRMED
        promote = rows[(self.state[rows] == TrackState.TENTATIVE) & (self.hits[rows] >= self.config.min_hits)]
        self._confirm(promote)

    def _confirm(self, rows: NDArray[np.int64]) -> None:
        self.state[rows] = TrackState.CONFIRMED
        self.ids[rows] = np.arange(self._next_id, self._next_id + len(rows))
        self._next_id += len(rows)

    def _age_unmatched(self, matched_track: NDArray[np.int64]) -> None:
        unmatched = matched_track < 0
        self.missed[unmatched] += 1
        self.state[unmatched & (self.state == TrackState.TENTATIVE)] = TrackState.REMOVED
        self.state[unmatched & (self.state == TrackState.CONFIRMED)] = TrackState.LOST
        expired = (self.state == TrackState.LOST) & (self.missed > self.config.lost_buffer)
        self.removed_ids = [int(i) for i in self.ids[expired]]
        self.state[expired] = TrackState.REMOVED

    def _start_tracks(self, detections: Detections) -> NDArray[np.int64]:
        """Drop removed rows, append tentative tracks; returns ids of those confirmed on sight (min_hits 1)."""
        n = len(detections)
        mean, cov = self.kalman.initiate(detections.xyxy)
        keep = self.state != TrackState.REMOVED
        self.ids = np.concatenate([self.ids[keep], np.full(n, NO_TRACK, np.int64)])
        self.state = np.concatenate([self.state[keep], np.full(n, TrackState.TENTATIVE, np.int8)])
        self.mean = np.concatenate([self.mean[keep], mean])
        self.cov = np.concatenate([self.cov[keep], cov])
        self.hits = np.concatenate([self.hits[keep], np.ones(n, np.int64)])
        self.missed = np.concatenate([self.missed[keep], np.zeros(n, np.int64)])
        if self.config.min_hits > 1 or n == 0:
            return np.zeros(0, np.int64)
        born = np.arange(len(self.ids) - n, len(self.ids))
        self._confirm(born)
        return self.ids[born]

    def active_ids(self) -> list[int]:
        """Public ids of confirmed or lost tracks still alive (to close them at the end of a stream)."""
        alive = (self.state == TrackState.CONFIRMED) | (self.state == TrackState.LOST)
        return [int(i) for i in self.ids[alive]]
