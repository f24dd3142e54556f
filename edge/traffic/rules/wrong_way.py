"""Wrong way: net motion against the lane's legal direction over a minimum distance."""

from __future__ import annotations

import numpy as np

from edge.traffic.rules.base import RulesConfig, SignalTimeline, TrackView, Violation, runs, track_lanes
from edge.traffic.scene import SceneConfig
from kuzet.contracts import ViolationKind


def wrong_way(
    track: TrackView, scene: SceneConfig, signal: SignalTimeline | None, config: RulesConfig
) -> list[Violation]:
    """For each stretch of consecutive samples in one lane: the net image displacement must point against the
    lane direction (cosine below ``max_cosine``) and the net travel (metres when calibrated, else pixels) must
    reach the minimum distance. At most one violation per track.
    """
    del signal
    cfg = config.wrong_way
    path, calibrated = track.metric_path()
    min_distance = cfg.min_distance_m if calibrated else cfg.min_distance_px
    lanes = track_lanes(track, scene)
    for lane_k in np.unique(lanes[lanes >= 0]).tolist():
        lane = scene.lanes[lane_k]
        for start, stop in runs(lanes == lane_k):
            if stop - start < 3:
                continue
            move = track.image_xy[stop - 1] - track.image_xy[start]
            norm = float(np.linalg.norm(move))
            travel = float(np.linalg.norm(path[stop - 1] - path[start]))
            if norm == 0.0 or travel < min_distance:
                continue
            cosine = float(move @ lane.direction) / norm
            if cosine >= cfg.max_cosine:
                continue
            index = (start + stop - 1) // 2
            return [
                Violation.of_track(
                    ViolationKind.WRONG_WAY,
                    track,
                    index,
                    lane_id=lane.id,
                    details={
                        "cosine": round(cosine, 3),
                        "travel": round(travel, 2),
                        "unit": "m" if calibrated else "px",
                    },
                )
            ]
    return []
