"""Stop line: on red the vehicle stands still with its front past the stop line, and does not enter the junction."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from edge.traffic.rules.base import (
    RulesConfig,
    Signals,
    SignalState,
    SignalTimeline,
    TrackView,
    Violation,
    runs,
    timeline_for,
    track_lanes,
)
from edge.traffic.rules.geometry import front_points, line_distance, margins, stationary, within_segment
from edge.traffic.rules.red_light import applies
from edge.traffic.scene import Line, SceneConfig
from kuzet.contracts import ViolationKind


def _inside_junction(
    front: NDArray[np.float64], stop: Line, past: NDArray[np.float64], scene: SceneConfig, config: RulesConfig
) -> NDArray[np.bool_]:
    """(T,) whether the front is in the junction: past a junction-entry line sharing a lane with the stop line
    (by the crossing margin), or, without one, more than ``max_past_px`` past the stop line."""
    entries = [j for j in scene.junction_lines if not j.lanes or not stop.lanes or set(j.lanes) & set(stop.lanes)]
    if not entries:
        return np.asarray(past > config.stop_line.max_past_px)
    smooth = config.red_light.crossing.smooth_samples
    inside = np.zeros(len(front), bool)
    for line in entries:
        inside |= line_distance(front, line, smooth) >= config.red_light.crossing.margin_px
    return inside


def _enters_on_same_red(
    timeline: SignalTimeline, t: NDArray[np.float64], inside: NDArray[np.bool_], after: int
) -> bool:
    """Whether the vehicle is inside the junction at a sample after ``after`` under the red in force then."""
    onset = timeline.onset_at(float(t[after]))
    for j in range(after + 1, len(t)):
        if timeline.state_at(float(t[j])) is not SignalState.RED or timeline.onset_at(float(t[j])) != onset:
            break
        if inside[j]:
            return True
    return False


def stop_line(track: TrackView, scene: SceneConfig, signal: Signals, config: RulesConfig) -> list[Violation]:
    """A run of samples, lasting ``min_stopped_s``, where the vehicle stands still, its signal is red, its front's
    running-median distance past a governing stop line is at least the margin (``min_past_px`` or ``min_past_m``)
    and it is not yet in the junction; a vehicle that then enters the junction on that same red ran the light
    instead. Stopping before the line never fires.
    """
    cfg = config.stop_line
    front = front_points(track, scene)
    lanes = track_lanes(track, scene)
    lane_ids = np.array([scene.lanes[k].id if k >= 0 else "" for k in lanes])
    still = stationary(track.t, front, track.metres_per_px, cfg.stopped_speed_mps, cfg.stopped_speed_px_s)
    need = margins(track, cfg.min_past_px, cfg.min_past_m)
    out: list[Violation] = []
    for line in scene.stop_lines:
        timeline = timeline_for(signal, line)
        if timeline is None:
            continue
        past = line_distance(front, line, config.red_light.crossing.smooth_samples)
        inside = _inside_junction(front, line, past, scene, config)
        red = timeline.states_at(track.t) == SignalState.RED.value
        governed = np.array([applies(line, {lane_id}) for lane_id in lane_ids], dtype=bool)
        mask = still & red & governed & (past >= need) & ~inside & within_segment(front, line)
        for start, stop in runs(mask):
            stopped_s = float(track.t[stop - 1] - track.t[start])
            if stopped_s < cfg.min_stopped_s or _enters_on_same_red(timeline, track.t, inside, stop - 1):
                continue
            mpp = track.metres_per_px
            details: dict[str, float | str] = {
                "stopped_s": round(stopped_s, 3),
                "samples": stop - start,
                "past_line_px": round(float(np.median(past[start:stop])), 1),
                "margin_px": round(float(np.median(need[start:stop])), 2),
                "front": "measured" if track.front_xy is not None else "box_edge",
                "signal_head": line.signal or "",
            }
            onset = timeline.onset_at(float(track.t[start]))
            if onset is not None:
                details["red_onset_t"] = onset
            if mpp is not None and np.all(np.isfinite(mpp[start:stop])):
                details["past_line_m"] = round(float(np.median(past[start:stop] * mpp[start:stop])), 2)
            out.append(
                Violation.of_track(
                    ViolationKind.STOP_LINE,
                    track,
                    start,
                    lane_id=str(lane_ids[start]),
                    line_id=line.id,
                    signal_state=SignalState.RED,
                    signal_source=timeline.source,
                    details=details,
                )
            )
            break
    return out
