"""Solid line: the vehicle's centre moves clearly from one side of a solid marking to the other."""

from __future__ import annotations

import numpy as np

from edge.traffic.rules.base import RulesConfig, Signals, TrackView, Violation, track_lanes
from edge.traffic.rules.geometry import clipped, crossings, margins, running_median, within_segment
from edge.traffic.scene import SceneConfig, signed_distance
from kuzet.contracts import ViolationKind


def solid_line(track: TrackView, scene: SceneConfig, signal: Signals, config: RulesConfig) -> list[Violation]:
    """The running-median distance of the box's bottom-centre to a solid line is clear of it (the larger of
    ``min_margin_px`` and ``min_margin_m``: a wheel on the line is not a crossing) for ``min_samples`` samples on
    one side, then on the other, within the line's extent. Samples of a box clipped by the frame are left out
    (their centre is not the vehicle's). Dashed lines are never checked. At most one violation per solid line.
    """
    del signal
    cfg = config.solid_line
    lanes = track_lanes(track, scene)
    cut = clipped(track, scene)
    usable = ~(cut[:, 0] | cut[:, 2] | cut[:, 3])
    margin = margins(track, cfg.min_margin_px, cfg.min_margin_m)
    out: list[Violation] = []
    for line in scene.solid_lines:
        raw = np.where(usable, signed_distance(track.image_xy, line.array()), np.nan)
        distance = running_median(raw, cfg.smooth_samples)
        distance[~usable] = np.nan
        inside = within_segment(track.image_xy, line, slack=0.0)
        for c in crossings(track.t, distance, margin, cfg.min_samples):
            if not (inside[c.before] and inside[c.after]):
                continue
            lane_k = int(lanes[c.after])
            details: dict[str, float | str] = {
                "before_px": round(c.clear_before, 1),
                "after_px": round(c.clear_after, 1),
                "margin_px": round(float(margin[c.after]), 2),
                "samples_before": c.samples_before,
                "samples_after": c.samples_after,
                "direction": c.direction,
            }
            if track.metres_per_px is not None and np.isfinite(track.metres_per_px[c.after]):
                details["after_m"] = round(c.clear_after * float(track.metres_per_px[c.after]), 2)
            out.append(
                Violation.of_track(
                    ViolationKind.SOLID_LINE,
                    track,
                    c.after,
                    t=c.t,
                    lane_id=scene.lanes[lane_k].id if lane_k >= 0 else "",
                    line_id=line.id,
                    details=details,
                )
            )
            break
    return out
