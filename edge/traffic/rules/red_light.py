"""Red light: the vehicle's front crosses a junction-entry line, into the junction, while its signal is red."""

from __future__ import annotations

import numpy as np

from edge.traffic.rules.base import (
    RulesConfig,
    Signals,
    SignalState,
    TrackView,
    Violation,
    timeline_for,
    track_lanes,
)
from edge.traffic.rules.geometry import crossings, front_points, line_distance, margins, within_segment
from edge.traffic.scene import Line, SceneConfig
from kuzet.contracts import ViolationKind


def applies(line: Line, lane_ids: set[str]) -> bool:
    """A line governs the track when it names no lanes or one of the track's lanes."""
    return not line.lanes or bool(lane_ids & set(line.lanes))


def entry_lines(scene: SceneConfig) -> list[tuple[Line, bool]]:
    """``(line, fallback)``: every junction-entry line, and each stop line that shares no lane with one (a scene
    drawn before junction-entry lines existed); such a stop line stands in with a deeper margin past it."""
    junction = scene.junction_lines
    out = [(line, False) for line in junction]
    for stop in scene.stop_lines:
        covered = any(not j.lanes or not stop.lanes or set(j.lanes) & set(stop.lanes) for j in junction)
        if not covered:
            out.append((stop, True))
    return out


def red_light(track: TrackView, scene: SceneConfig, signal: Signals, config: RulesConfig) -> list[Violation]:
    """The front's running-median distance to a governing entry line goes from clear before it (``margin`` for
    ``min_samples`` samples) to clear past it, and at the earliest moment the crossing can have happened the
    line's signal was a confident red for at least ``red_grace_s`` (amber, green, unknown or a disagreeing source
    never fire). At most one violation per line; the decision's numbers go into ``details``.
    """
    cfg = config.red_light
    front = front_points(track, scene)
    lanes = track_lanes(track, scene)
    margin = margins(track, cfg.crossing.margin_px, cfg.crossing.margin_m)
    out: list[Violation] = []
    for line, fallback in entry_lines(scene):
        timeline = timeline_for(signal, line)
        if timeline is None:
            continue
        depth = margins(track, cfg.fallback_depth_px, cfg.fallback_depth_m) if fallback else None
        distance = line_distance(front, line, cfg.crossing.smooth_samples)
        for c in crossings(track.t, distance, margin, cfg.crossing.min_samples, depth):
            lane_k = int(lanes[c.after]) if lanes[c.after] >= 0 else int(lanes[c.before])
            lane_id = scene.lanes[lane_k].id if lane_k >= 0 else ""
            if c.direction != 1 or not applies(line, {lane_id}):
                continue
            if not bool(within_segment(front[[c.before, c.after]], line).any()):
                continue
            state, onset = timeline.state_at(c.t_early), timeline.onset_at(c.t_early)
            if state is not SignalState.RED or timeline.state_at(c.t) is not SignalState.RED or onset is None:
                continue
            if c.t_early - onset < cfg.red_grace_s:
                continue
            mpp = track.metres_per_px
            details: dict[str, float | str] = {
                "line_kind": line.kind.value,
                "fallback_stop_line": "yes" if fallback else "no",
                "front": "measured" if track.front_xy is not None else "box_edge",
                "red_for_s": round(c.t_early - onset, 3),
                "red_onset_t": onset,
                "crossing_t": round(c.t, 3),
                "margin_px": round(float(margin[c.after]), 2),
                "samples_before": c.samples_before,
                "samples_after": c.samples_after,
                "clear_before_px": round(c.clear_before, 1),
                "clear_after_px": round(c.clear_after, 1),
                "signal_head": line.signal or "",
            }
            if mpp is not None and np.isfinite(mpp[c.after]):
                details["clear_after_m"] = round(c.clear_after * float(mpp[c.after]), 2)
            out.append(
                Violation.of_track(
                    ViolationKind.RED_LIGHT,
                    track,
                    c.after,
                    t=c.t,
                    lane_id=lane_id,
                    line_id=line.id,
                    signal_state=state,
                    signal_source=timeline.source,
                    details=details,
                )
            )
            break
    return out
