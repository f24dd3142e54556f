"""Speeding: the measured speed, less its uncertainty, is above the lane's limit plus tolerance."""

from __future__ import annotations

import numpy as np

from edge.traffic.rules.base import RulesConfig, Signals, TrackView, Violation, dominant_lane, track_lanes
from edge.traffic.scene import SceneConfig
from kuzet.contracts import ViolationKind


def speeding(track: TrackView, scene: SceneConfig, signal: Signals, config: RulesConfig) -> list[Violation]:
    """Fire once per track when ``speed - sigma_factor * sigma > limit + tolerance`` of its dominant lane.

    A speed without an uncertainty, or with one above ``max_sigma_kmh``, is not evidence and never fires.
    The deciding sample is the middle of the samples inside that lane.
    """
    del signal
    cfg = config.speeding
    if track.speed_kmh is None or track.speed_sigma_kmh is None or track.speed_sigma_kmh > cfg.max_sigma_kmh:
        return []
    lanes = track_lanes(track, scene)
    lane_k = dominant_lane(lanes)
    if lane_k < 0:
        return []
    lane = scene.lanes[lane_k]
    threshold = lane.speed_limit_kmh + lane.speed_tolerance_kmh
    lower = track.speed_kmh - cfg.sigma_factor * track.speed_sigma_kmh
    if lower <= threshold:
        return []
    inside = np.flatnonzero(lanes == lane_k)
    index = int(inside[len(inside) // 2])
    details: dict[str, float | str] = {
        "limit_kmh": lane.speed_limit_kmh,
        "tolerance_kmh": lane.speed_tolerance_kmh,
        "sigma_factor": cfg.sigma_factor,
        "lower_bound_kmh": round(lower, 2),
    }
    if track.speed_estimate is not None:
        details.update(track.speed_estimate.details())
    return [Violation.of_track(ViolationKind.SPEEDING, track, index, lane_id=lane.id, details=details)]
