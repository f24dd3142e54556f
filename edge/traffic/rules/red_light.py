"""Red light: the track crosses a stop line, in its travel direction, while the signal is red past the grace."""

from __future__ import annotations

from edge.traffic.rules.base import (
    RulesConfig,
    SignalState,
    SignalTimeline,
    TrackView,
    Violation,
    track_lanes,
)
from edge.traffic.scene import Line, SceneConfig, crossing_times, path_crossings
from kuzet.contracts import ViolationKind


def applies(line: Line, lane_ids: set[str]) -> bool:
    """A stop line governs the track when it names no lanes or one of the track's lanes."""
    return not line.lanes or bool(lane_ids & set(line.lanes))


def red_light(
    track: TrackView, scene: SceneConfig, signal: SignalTimeline | None, config: RulesConfig
) -> list[Violation]:
    """Crossings of a governing stop line into its ``beyond`` side at an interpolated time when the signal is
    red and has been red for at least ``red_grace_s`` (the amber clearance). Amber or green never fires; an
    unknown signal never fires. At most one violation per stop line.
    """
    if signal is None:
        return []
    lanes = track_lanes(track, scene)
    out: list[Violation] = []
    for line in scene.stop_lines:
        idx, direction = path_crossings(track.image_xy, line.array())
        idx = idx[direction == line.beyond_sign]
        if not len(idx):
            continue
        times = crossing_times(track.t, track.image_xy, line.array(), idx)
        for step, tc in zip(idx.tolist(), times.tolist(), strict=True):
            lane_k = int(lanes[step])
            lane_id = scene.lanes[lane_k].id if lane_k >= 0 else ""
            if not applies(line, {lane_id}):
                continue
            state, onset = signal.state_at(tc), signal.onset_at(tc)
            if state is not SignalState.RED or onset is None or tc - onset < config.red_light.red_grace_s:
                continue
            out.append(
                Violation.of_track(
                    ViolationKind.RED_LIGHT,
                    track,
                    step + 1,
                    t=tc,
                    lane_id=lane_id,
                    line_id=line.id,
                    signal_state=state,
                    signal_source=signal.source,
                    details={"red_for_s": round(tc - onset, 3), "red_onset_t": onset},
                )
            )
            break
    return out
