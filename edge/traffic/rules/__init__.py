"""Traffic rules: small pure functions of a track, the scene geometry and the signal state.

Entry point: ``evaluate_rules(tracks, scene, signal, config) -> list[Violation]``. ``signal`` is the timeline
chosen by ``choose_signal(controller_feed, camera_source)`` (controller when present, classifier otherwise) or
None when the camera has no signal; the red-light and stop-line rules then never fire.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from edge.traffic.rules.base import (
    RulesConfig,
    SignalTimeline,
    TrackView,
    Violation,
    ViolationKind,
    choose_signal,
    eligible,
)
from edge.traffic.rules.bus_lane import bus_lane
from edge.traffic.rules.red_light import red_light
from edge.traffic.rules.solid_line import solid_line
from edge.traffic.rules.speeding import speeding
from edge.traffic.rules.stop_line import stop_line
from edge.traffic.rules.wrong_way import wrong_way
from edge.traffic.scene import SceneConfig

Rule = Callable[[TrackView, SceneConfig, SignalTimeline | None, RulesConfig], list[Violation]]

RULES: dict[ViolationKind, Rule] = {
    "speeding": speeding,
    "red_light": red_light,
    "stop_line": stop_line,
    "solid_line": solid_line,
    "wrong_way": wrong_way,
    "bus_lane": bus_lane,
}


def evaluate_rules(
    tracks: Iterable[TrackView],
    scene: SceneConfig,
    signal: SignalTimeline | None,
    config: RulesConfig | None = None,
) -> list[Violation]:
    """Every enabled rule on every eligible (confirmed, long enough) track, ordered by time.

    A stop-line violation is dropped when the same track ran the same stop line on red (one offence, the
    graver one).
    """
    cfg = config or RulesConfig()
    out: list[Violation] = []
    for track in tracks:
        if not eligible(track, cfg):
            continue
        found = [v for kind in cfg.enabled for v in RULES[kind](track, scene, signal, cfg)]
        ran = {v.line_id for v in found if v.kind == "red_light"}
        out.extend(v for v in found if not (v.kind == "stop_line" and v.line_id in ran))
    return sorted(out, key=lambda v: (v.t, v.track_id, v.kind))


__all__ = ["RULES", "Rule", "RulesConfig", "TrackView", "Violation", "choose_signal", "evaluate_rules"]
