"""Wrong way: net travel against the lane's legal direction over a minimum distance (15 m calibrated)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from edge.traffic.rules.base import RulesConfig, Signals, TrackView, Violation, runs, track_lanes
from edge.traffic.rules.geometry import running_median
from edge.traffic.scene import SceneConfig
from kuzet.contracts import ViolationKind

SMOOTH = 5  # running-median window over lane membership (a box on a lane edge flickers between lanes)
ENDS = 3  # samples whose median stands for each end of a stretch (one jittered box cannot make the distance)


def wrong_way(track: TrackView, scene: SceneConfig, signal: Signals, config: RulesConfig) -> list[Violation]:
    """For each stretch of samples in one lane (running-median membership): the net image displacement between
    the medians of its first and last samples must point against the lane direction (cosine below
    ``max_cosine``) and the net travel (metres when calibrated, else pixels) must reach the minimum distance.
    At most one violation per track.
    """
    del signal
    cfg = config.wrong_way
    path, calibrated = track.metric_path()
    min_distance = cfg.min_distance_m if calibrated else cfg.min_distance_px
    lanes = track_lanes(track, scene)
    for lane_k in np.unique(lanes[lanes >= 0]).tolist():
        lane = scene.lanes[lane_k]
        member = running_median((lanes == lane_k).astype(np.float64), SMOOTH) > 0.5
        for start, stop in runs(member):
            idx = np.arange(start, stop)
            if len(idx) < 2 * ENDS:
                continue
            first, last = idx[:ENDS], idx[-ENDS:]
            move = np.median(track.image_xy[last], axis=0) - np.median(track.image_xy[first], axis=0)
            norm = float(np.linalg.norm(move))
            travel = float(np.linalg.norm(np.median(path[last], axis=0) - np.median(path[first], axis=0)))
            if norm == 0.0 or travel < min_distance:
                continue
            cosine = float(move @ lane.direction) / norm
            if cosine >= cfg.max_cosine:
                continue
            return [_violation(track, lane.id, idx, cosine, travel, calibrated)]
    return []


def _violation(
    track: TrackView, lane_id: str, idx: NDArray[np.int64], cosine: float, travel: float, calibrated: bool
) -> Violation:
    index = int(idx[len(idx) // 2])
    return Violation.of_track(
        ViolationKind.WRONG_WAY,
        track,
        index,
        lane_id=lane_id,
        details={
            "cosine": round(cosine, 3),
            "travel": round(travel, 2),
            "unit": "m" if calibrated else "px",
            "samples": len(idx),
            "from_t": round(float(track.t[idx[0]]), 3),
            "to_t": round(float(track.t[idx[-1]]), 3),
        },
    )
