"""Traffic rules: small pure functions of a track, the scene geometry and the signal state.

Entry point: ``evaluate_rules(tracks, scene, signal, config) -> list[Violation]``. ``signal`` is the timeline
chosen by ``choose_signal(controller_feed, camera_source)`` (controller when present, classifier otherwise) or
None when the camera has no signal; the red-light and stop-line rules then never fire.

``RULES`` is the registry and the only list of rules: one entry per ``kuzet.contracts.ViolationKind`` (checked at
import). Adding a kind: its value in ``kuzet/contracts/enums.py``, its module here (``<kind>.py``, a pure function),
its line in ``RULES`` and, when it has thresholds, a config model and one ``RulesConfig`` field in ``base.py``; plus
its text in ``notifications/templates/{en,kk,ru}.yaml``. ``RulesConfig.enabled`` defaults to every kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from edge.traffic.rules.base import (
    RulesConfig,
    Signals,
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

Rule = Callable[[TrackView, SceneConfig, Signals, RulesConfig], list[Violation]]

RULES: dict[ViolationKind, Rule] = {
    ViolationKind.SPEEDING: speeding,
    ViolationKind.RED_LIGHT: red_light,
    ViolationKind.STOP_LINE: stop_line,
    ViolationKind.SOLID_LINE: solid_line,
    ViolationKind.WRONG_WAY: wrong_way,
    ViolationKind.BUS_LANE: bus_lane,
}

_MISSING = set(ViolationKind) - set(RULES)
if _MISSING:  # a contract value without a rule would be accepted in config and then fail at the first track
    raise ImportError(f"edge.traffic.rules: no rule registered for {sorted(_MISSING)}")


def evaluate_rules(
    tracks: Iterable[TrackView],
    scene: SceneConfig,
    signal: Signals,
    config: RulesConfig | None = None,
) -> list[Violation]:
    """Every enabled rule on every eligible (confirmed, long enough) track, ordered by time.

    ``signal`` is one timeline for the camera, or one per signal head by id (a line's ``signal`` names its head).
    A stop-line violation is dropped when the same track ran the red (one offence, the graver one).
    """
    cfg = config or RulesConfig()
    out: list[Violation] = []
    for track in tracks:
        if not eligible(track, cfg):
            continue
        found = [v for kind in cfg.enabled for v in RULES[kind](track, scene, signal, cfg)]
        ran = any(v.kind == ViolationKind.RED_LIGHT for v in found)
        out.extend(v for v in found if not (v.kind == ViolationKind.STOP_LINE and ran))
    return sorted(out, key=lambda v: (v.t, v.track_id, v.kind))


__all__ = [
    "RULES",
    "Rule",
    "RulesConfig",
    "SignalTimeline",
    "Signals",
    "TrackView",
    "Violation",
    "ViolationKind",
    "choose_signal",
    "evaluate_rules",
]
