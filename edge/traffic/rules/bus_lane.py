"""Bus lane: a vehicle of a non-exempt class travels far enough with its centre in a bus lane during its hours."""

from __future__ import annotations

import numpy as np

from edge.traffic.rules.base import RulesConfig, Signals, TrackView, Violation, runs, track_lanes
from edge.traffic.rules.geometry import running_median
from edge.traffic.scene import LaneKind, SceneConfig, in_window
from kuzet.contracts import ViolationKind

ENDS = 3  # samples whose median stands for each end of a stretch


def bus_lane(track: TrackView, scene: SceneConfig, signal: Signals, config: RulesConfig) -> list[Violation]:
    """A stretch of samples whose running-median lane membership is one bus lane, within its ``bus_hours`` (local
    time of each sample; ``t`` is Unix seconds), lasting ``min_time_s`` and with a net travel along the lane
    (medians of its end samples, metres when calibrated, else pixels) of at least the minimum distance. Exempt
    classes (buses by default) never fire; crossing a bus lane to turn does not travel far enough along it.
    """
    del signal
    cfg = config.bus_lane
    if track.vehicle_class in cfg.exempt_classes:
        return []
    path, calibrated = track.metric_path()
    min_distance = cfg.min_distance_m if calibrated else cfg.min_distance_px
    lanes = track_lanes(track, scene)
    for lane_k, lane in enumerate(scene.lanes):
        if lane.kind is not LaneKind.BUS:
            continue
        hours = np.array([in_window(lane.bus_hours, scene.local_time(float(t))) for t in track.t], dtype=bool)
        member = running_median((lanes == lane_k).astype(np.float64), cfg.smooth_samples) > 0.5
        for start, stop in runs(member & hours):
            if stop - start < 2 * ENDS:
                continue
            duration = float(track.t[stop - 1] - track.t[start])
            ends = np.median(path[stop - ENDS : stop], axis=0) - np.median(path[start : start + ENDS], axis=0)
            move = np.median(track.image_xy[stop - ENDS : stop], axis=0) - np.median(
                track.image_xy[start : start + ENDS], axis=0
            )
            along = abs(float(move @ lane.direction)) / max(float(np.linalg.norm(move)), 1e-9)
            distance = float(np.linalg.norm(ends)) * along  # travel along the lane, not across it
            if duration < cfg.min_time_s or distance < min_distance:
                continue
            return [
                Violation.of_track(
                    ViolationKind.BUS_LANE,
                    track,
                    start,
                    lane_id=lane.id,
                    details={
                        "in_lane_s": round(duration, 2),
                        "distance": round(distance, 2),
                        "unit": "m" if calibrated else "px",
                        "samples": stop - start,
                    },
                )
            ]
    return []
