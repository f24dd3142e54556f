"""Stop line: the vehicle halts with its front past the stop line while the signal is red."""

from __future__ import annotations

import numpy as np

from edge.traffic.rules.base import (
    RulesConfig,
    SignalState,
    SignalTimeline,
    TrackView,
    Violation,
    runs,
    sample_speeds,
    track_lanes,
)
from edge.traffic.rules.red_light import applies
from edge.traffic.scene import SceneConfig, signed_distance
from kuzet.contracts import ViolationKind


def stop_line(
    track: TrackView, scene: SceneConfig, signal: SignalTimeline | None, config: RulesConfig
) -> list[Violation]:
    """A run of samples that are stationary, between ``min_past_px`` and ``max_past_px`` beyond a governing
    stop line, and under red, lasting at least ``min_stopped_s``. Stopping before the line never fires.
    """
    if signal is None:
        return []
    cfg = config.stop_line
    speed, calibrated = sample_speeds(track)
    stopped = speed < (cfg.stopped_speed_mps if calibrated else cfg.stopped_speed_px_s)
    red = signal.states_at(track.t) == SignalState.RED.value
    lanes = track_lanes(track, scene)
    lane_ids = np.array([scene.lanes[k].id if k >= 0 else "" for k in lanes])
    out: list[Violation] = []
    for line in scene.stop_lines:
        past = signed_distance(track.image_xy, line.array()) * line.beyond_sign
        governed = np.array([applies(line, {lane_id}) for lane_id in lane_ids], dtype=bool)
        mask = stopped & red & governed & (past >= cfg.min_past_px) & (past <= cfg.max_past_px)
        for start, stop in runs(mask):
            if track.t[stop - 1] - track.t[start] < cfg.min_stopped_s:
                continue
            out.append(
                Violation(
                    kind=ViolationKind.STOP_LINE,
                    track_id=track.track_id,
                    vehicle_class=track.vehicle_class,
                    t=float(track.t[start]),
                    index=start,
                    lane_id=str(lane_ids[start]),
                    line_id=line.id,
                    signal_state=SignalState.RED,
                    signal_source=signal.source,
                    details={
                        "stopped_s": round(float(track.t[stop - 1] - track.t[start]), 3),
                        "past_line_px": round(float(np.median(past[start:stop])), 1),
                    },
                )
            )
            break
    return out
