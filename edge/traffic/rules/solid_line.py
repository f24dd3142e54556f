"""Solid line: the path crosses a solid lane marking and moves clearly to its other side."""

from __future__ import annotations

import numpy as np

from edge.traffic.rules.base import RulesConfig, SignalTimeline, TrackView, Violation, track_lanes
from edge.traffic.scene import SceneConfig, crossing_times, path_crossings, signed_distance
from kuzet.contracts import ViolationKind


def solid_line(
    track: TrackView, scene: SceneConfig, signal: SignalTimeline | None, config: RulesConfig
) -> list[Violation]:
    """Each crossing of a solid line where the path is at least ``min_margin_px`` from the line both before
    and after it (so box jitter along the marking does not fire). Dashed lines are never checked.
    At most one violation per solid line.
    """
    del signal
    margin = config.solid_line.min_margin_px
    lanes = track_lanes(track, scene)
    out: list[Violation] = []
    for line in scene.solid_lines:
        seg = line.array()
        idx, _ = path_crossings(track.image_xy, seg)
        if not len(idx):
            continue
        dist = np.abs(signed_distance(track.image_xy, seg))
        bounds = np.concatenate([[0], idx + 1, [len(track)]])
        for k, step in enumerate(idx.tolist()):
            before = dist[bounds[k] : step + 1].max()
            after = dist[step + 1 : bounds[k + 2]].max()
            if min(before, after) < margin:
                continue
            tc = float(crossing_times(track.t, track.image_xy, seg, np.array([step]))[0])
            lane_k = int(lanes[step])
            out.append(
                Violation(
                    kind=ViolationKind.SOLID_LINE,
                    track_id=track.track_id,
                    vehicle_class=track.vehicle_class,
                    t=tc,
                    index=step + 1,
                    lane_id=scene.lanes[lane_k].id if lane_k >= 0 else "",
                    line_id=line.id,
                    details={"before_px": round(float(before), 1), "after_px": round(float(after), 1)},
                )
            )
            break
    return out
