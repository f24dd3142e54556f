"""One offence, one fine: a vehicle whose track broke in two is not booked twice for the same kind.

An occlusion (a bus passing in front) or a run of missed detections longer than the tracker's buffer ends a track;
the same vehicle comes back as a new track id, and the rules, which judge each finished track alone, can fire the
same kind again (a wrong-way car booked on both halves of its drive, a speeder on both). ``OffenceMemory`` keeps the
recent offending tracks of one camera and links a new track to one of them when it continues it:

* the later track's first sample comes at most ``window_s`` after the earlier one's last (no overlap in time);
* its first position lies within the reach of the earlier track's last position carried on at its last velocity
  over the gap: on the road plane when both are calibrated (``radius_m`` plus ``travel_share`` of the predicted
  travel), else in the image (``radius_boxes`` box heights plus the same share).

A linked track inherits the earlier one's kinds; its violations of those kinds are dropped (and logged with the
track they repeat), the others stand. Nothing here reads a plate: it is geometry and time only, and a second
vehicle entering the view where the first one was lost, rather than where it would be by now, is not linked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from edge.traffic.rules.base import RepeatConfig, TrackView, Violation
from kuzet.contracts import ViolationKind

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Offender:
    track_id: int
    kinds: frozenset[ViolationKind]
    view: TrackView


def _points(view: TrackView, calibrated: bool) -> NDArray[np.float64]:
    return view.road_xy if calibrated and view.road_xy is not None else view.image_xy


def _velocity(t: NDArray[np.float64], xy: NDArray[np.float64], window_s: float) -> NDArray[np.float64]:
    """Mean velocity over the samples of the last ``window_s`` (zero with one sample)."""
    recent = t >= t[-1] - window_s
    ts, ps = t[recent], xy[recent]
    if len(ts) < 2 or ts[-1] <= ts[0]:
        return np.zeros(2)
    return np.asarray((ps[-1] - ps[0]) / (ts[-1] - ts[0]), np.float64)


def _box_height(view: TrackView) -> float:
    if view.boxes_xyxy is None or len(view.boxes_xyxy) == 0:
        return 0.0
    return float(view.boxes_xyxy[-1, 3] - view.boxes_xyxy[-1, 1])


def continues(earlier: TrackView, later: TrackView, config: RepeatConfig) -> bool:
    """Whether ``later`` is the same vehicle as ``earlier`` after a break (module docstring)."""
    if len(earlier.t) == 0 or len(later.t) == 0:
        return False
    gap = float(later.t[0] - earlier.t[-1])
    if not 0.0 <= gap <= config.window_s:
        return False
    calibrated = earlier.road_xy is not None and later.road_xy is not None
    before, after = _points(earlier, calibrated), _points(later, calibrated)
    if not (np.isfinite(before[-1]).all() and np.isfinite(after[0]).all()):
        return False
    step = _velocity(earlier.t, before, config.velocity_s) * gap
    miss = float(np.linalg.norm(after[0] - (before[-1] + step)))
    base = config.radius_m if calibrated else config.radius_boxes * _box_height(earlier)
    return miss <= base + config.travel_share * float(np.linalg.norm(step))


class OffenceMemory:
    """The recent offending tracks of one camera; ``filter`` drops a continued track's repeats."""

    def __init__(self, config: RepeatConfig) -> None:
        self.config = config
        self._recent: list[_Offender] = []
        self.dropped = 0

    def filter(self, view: TrackView, found: list[Violation]) -> list[Violation]:
        """``found`` without the kinds an earlier track this one continues was already booked for."""
        if not self.config.enabled or len(view.t) == 0:
            return found
        self._recent = [o for o in self._recent if float(view.t[0] - o.view.t[-1]) <= self.config.window_s]
        linked = [
            o for o in self._recent if continues(o.view, view, self.config) or continues(view, o.view, self.config)
        ]
        inherited = frozenset(k for o in linked for k in o.kinds)
        kept = [v for v in found if v.kind not in inherited]
        for v in found:
            if v.kind in inherited:
                source = next(o.track_id for o in linked if v.kind in o.kinds)
                logger.info("track %d: %s not issued again: it continues track %d", view.track_id, v.kind, source)
        self.dropped += len(found) - len(kept)
        kinds = inherited | {v.kind for v in kept}
        if kinds:
            self._recent.append(_Offender(view.track_id, kinds, view))
        return kept
