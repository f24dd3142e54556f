"""Traffic-signal phase: the state type, a timeline of phase changes, and the sources that produce it.

Two sources implement ``SignalPhaseFeed``:

- ``ReplaySignalFeed``: phase changes with timestamps from the signal controller. The real controller link
  is the external boundary; this driver replays a recorded log (CSV ``t,state``) through the same
  interface.
- ``CameraSignalSource``: classifies the signal head inside a configured ROI of each camera frame with a
  ``SignalHeadClassifier`` (the trained ``models.lights`` classifier, handed in by the edge) and debounces the
  per-frame states into phase changes.

``SignalState`` and ``SignalSource`` are the contract's enums (``kuzet.contracts``), re-exported here.

Times are float seconds (Unix epoch for live cameras; any monotonic origin for replays), the same clock as
tracks."""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from kuzet.config import StrictModel
from kuzet.contracts import SignalSource, SignalState

logger = logging.getLogger(__name__)

__all__ = [
    "CameraSignalConfig",
    "CameraSignalSource",
    "PhaseChange",
    "ReplaySignalFeed",
    "SignalHeadClassifier",
    "SignalPhaseFeed",
    "SignalSource",
    "SignalState",
    "SignalTimeline",
]

_STATES: tuple[SignalState, ...] = tuple(SignalState)


@dataclass(frozen=True, slots=True)
class PhaseChange:
    """The signal switched to ``state`` at time ``t`` (seconds)."""

    t: float
    state: SignalState


class SignalTimeline:
    """Sorted phase changes with vectorised look-ups; before the first change the state is UNKNOWN.

    Args:
        changes: phase changes in any order; equal consecutive states are merged.
        source: which source produced them.
    """

    def __init__(self, changes: Iterable[PhaseChange], source: SignalSource) -> None:
        ordered = sorted(changes, key=lambda c: c.t)
        merged: list[PhaseChange] = []
        for change in ordered:
            if not merged or merged[-1].state != change.state:
                merged.append(change)
        self.changes: tuple[PhaseChange, ...] = tuple(merged)
        self.source = source
        self._t = np.array([c.t for c in merged], dtype=np.float64)
        self._code = np.array([_STATES.index(c.state) for c in merged], dtype=np.int64)

    def _index(self, t: NDArray[np.floating]) -> NDArray[np.int64]:
        return np.asarray(np.searchsorted(self._t, np.asarray(t, dtype=np.float64), side="right") - 1)

    def states_at(self, t: NDArray[np.floating]) -> NDArray[np.str_]:
        """(N,) state names in force at each time (``"unknown"`` before the first change)."""
        idx = self._index(t)
        names = np.array([s.value for s in _STATES])
        code = np.where(idx >= 0, self._code[np.clip(idx, 0, None)] if len(self._code) else 3, 3)
        return np.asarray(names[code])

    def state_at(self, t: float) -> SignalState:
        """State in force at one time."""
        return SignalState(str(self.states_at(np.array([t]))[0]))

    def onset_at(self, t: float) -> float | None:
        """Start time of the state in force at ``t``; None before the first change."""
        idx = int(self._index(np.array([t]))[0])
        return float(self._t[idx]) if idx >= 0 else None


class SignalPhaseFeed(Protocol):
    """Anything that can say what the signal showed and when."""

    @property
    def source(self) -> SignalSource:
        """Which kind of source this is."""
        ...

    def timeline(self) -> SignalTimeline:
        """Phase changes known so far."""
        ...


class ReplaySignalFeed:
    """Controller phase changes replayed from memory or a CSV log with columns ``t,state``.

    Args:
        changes: the recorded phase changes.
    """

    def __init__(self, changes: Sequence[PhaseChange]) -> None:
        self._timeline = SignalTimeline(changes, SignalSource.CONTROLLER)

    @classmethod
    def from_csv(cls, path: Path) -> ReplaySignalFeed:
        """Read a controller log; raises ValueError naming the bad row."""
        changes: list[PhaseChange] = []
        with path.open(newline="") as handle:
            for number, row in enumerate(csv.DictReader(handle), start=2):
                try:
                    changes.append(PhaseChange(float(row["t"]), SignalState(row["state"].strip().lower())))
                except (KeyError, ValueError) as exc:
                    raise ValueError(f"{path}:{number}: bad phase row {row!r} ({exc})") from exc
        return cls(changes)

    @property
    def source(self) -> SignalSource:
        """Always the controller."""
        return SignalSource.CONTROLLER

    def timeline(self) -> SignalTimeline:
        """All replayed changes."""
        return self._timeline


class SignalHeadClassifier(Protocol):
    """Reads the state a signal head shows in an image crop (``models.lights.LightClassifier`` is one)."""

    def predict_states(self, crops: Sequence[NDArray[np.uint8]]) -> list[SignalState]:
        """One state per (H, W, 3) BGR crop; ``UNKNOWN`` when it cannot tell."""
        ...


class CameraSignalConfig(StrictModel):
    """How per-frame light labels become phase changes."""

    roi: tuple[int, int, int, int] = Field(description="(x1, y1, x2, y2) pixels of the signal head in the frame")
    min_consecutive: int = Field(
        default=3, ge=1, le=100, description="Frames that must agree before a new state is accepted (debounce)"
    )


class CameraSignalSource:
    """The signal state read off the camera image by a signal-head classifier.

    Args:
        classifier: a ``SignalHeadClassifier`` (e.g. ``models.lights.LightClassifier``).
        config: the signal-head ROI and debounce.
    """

    def __init__(self, classifier: SignalHeadClassifier, config: CameraSignalConfig) -> None:
        self.classifier = classifier
        self.config = config
        self._changes: list[PhaseChange] = []
        self._current = SignalState.UNKNOWN
        self._pending: list[tuple[float, SignalState]] = []

    @property
    def source(self) -> SignalSource:
        """Always the classifier."""
        return SignalSource.CLASSIFIER

    def crop(self, frame: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """The ROI of a (H, W, 3) BGR frame, clipped to the frame (may be empty)."""
        height, width = frame.shape[:2]
        x1, y1, x2, y2 = self.config.roi
        x1, x2 = min(max(x1, 0), width), min(max(x2, 0), width)
        y1, y2 = min(max(y1, 0), height), min(max(y2, 0), height)
        return frame[y1:y2, x1:x2]

    def observe(self, frame: NDArray[np.uint8], t: float) -> SignalState:
        """Classify the signal head in one frame at time ``t`` (increasing); returns the debounced state."""
        roi = self.crop(frame)
        state = SignalState.UNKNOWN if roi.size == 0 else self.classifier.predict_states([roi])[0]
        return self.observe_state(state, t)

    def observe_state(self, state: SignalState, t: float) -> SignalState:
        """Feed one per-frame state; returns the debounced state."""
        if state == self._current:
            self._pending.clear()
            return self._current
        if self._pending and self._pending[-1][1] != state:
            self._pending.clear()
        self._pending.append((t, state))
        if len(self._pending) >= self.config.min_consecutive:
            self._current = state
            self._changes.append(PhaseChange(self._pending[0][0], state))
            logger.debug("signal -> %s at %.3f", state, self._pending[0][0])
            self._pending.clear()
        return self._current

    def timeline(self) -> SignalTimeline:
        """Accepted phase changes so far (each stamped at the first frame that showed it)."""
        return SignalTimeline(self._changes, SignalSource.CLASSIFIER)
