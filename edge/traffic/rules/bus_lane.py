"""Bus lane: a vehicle of a non-exempt class inside a bus lane during its hours, long and far enough."""

from __future__ import annotations

import numpy as np

from edge.traffic.rules.base import RulesConfig, SignalTimeline, TrackView, Violation, runs, track_lanes
from edge.traffic.scene import LaneKind, SceneConfig, in_window, path_length
from kuzet.contracts import ViolationKind


def bus_lane(
    track: TrackView, scene: SceneConfig, signal: SignalTimeline | None, config: RulesConfig
) -> list[Violation]:
    """A run of consecutive samples inside one bus lane, within its ``bus_hours`` (local time of each sample;
    ``t`` is Unix seconds), lasting ``min_time_s`` and covering the minimum distance (metres when calibrated,
    else pixels). Exempt classes (buses by default) never fire; crossing a bus lane to turn does not last.
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
        for start, stop in runs((lanes == lane_k) & hours):
            duration = float(track.t[stop - 1] - track.t[start])
            distance = path_length(path[start:stop])
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
                    },
                )
            ]
    return []
