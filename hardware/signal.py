"""Traffic-signal phase: the state type, a timeline of phase changes, and the sources that produce it.

Two sources implement ``SignalPhaseFeed``:

- ``ReplaySignalFeed``: phase changes with timestamps from the signal controller. The real controller link
  is the external boundary; this driver replays a recorded log (CSV ``t,state``) through the same
  interface.
- ``CameraSignalSource``: classifies each configured signal head (one ROI per movement: ``main``, ``left_arrow``,
  ...) of every camera frame with a ``SignalHeadClassifier`` (the trained ``models.lights`` classifier, handed in
  by the edge) and debounces each head's per-frame states into its own phase changes.

``hardware.signals.ntcip`` is the real controller link (NTCIP 1202 over SNMP), with one feed per head.

``SignalState`` and ``SignalSource`` are the contract's enums (``kuzet.contracts``), re-exported here.

Times are float seconds (Unix epoch for live cameras; any monotonic origin for replays), the same clock as
tracks."""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator

from kuzet.config import StrictModel
from kuzet.contracts import SignalSource, SignalState

logger = logging.getLogger(__name__)

__all__ = [
    "CameraHeadFeed",
    "CameraSignalConfig",
    "CameraSignalSource",
    "PhaseChange",
    "ReplaySignalFeed",
    "SignalHeadClassifier",
    "SignalHeadConfig",
    "SignalPhaseFeed",
    "SignalSource",
    "SignalState",
    "SignalTimeline",
]

_STATES: tuple[SignalState, ...] = tuple(SignalState)
_UNKNOWN_CODE = _STATES.index(SignalState.UNKNOWN)


@dataclass(frozen=True, slots=True)
class PhaseChange:
    """The signal switched to ``state`` at time ``t`` (seconds); ``source`` says which source decided it when a
    timeline mixes sources (a fused one), None = the timeline's own source."""

    t: float
    state: SignalState
    source: SignalSource | None = None


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
        known = self._code[np.clip(idx, 0, None)] if len(self._code) else _UNKNOWN_CODE
        code = np.where(idx >= 0, known, _UNKNOWN_CODE)
        return np.asarray(names[code])

    def state_at(self, t: float) -> SignalState:
        """State in force at one time."""
        return SignalState(str(self.states_at(np.array([t]))[0]))

    def source_at(self, t: float) -> SignalSource:
        """Which source decided the state in force at ``t`` (the timeline's own source unless a change names one)."""
        idx = int(self._index(np.array([t]))[0])
        named = self.changes[idx].source if idx >= 0 else None
        return named or self.source

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


class SignalHeadConfig(StrictModel):
    """One signal head (one movement) seen by the camera."""

    id: str = Field(default="main", min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$", description="Head id")
    roi: tuple[int, int, int, int] = Field(description="(x1, y1, x2, y2) pixels of the signal head in the frame")
    shape: Literal["round", "arrow"] = Field(
        default="round", description="Lamp shape: round (all movements) or arrow (a turn movement)"
    )


class CameraSignalConfig(StrictModel):
    """The camera's signal heads and how per-frame light labels become phase changes.

    ``roi`` alone (the older one-head form) is a single head named ``main``.
    """

    heads: tuple[SignalHeadConfig, ...] = Field(default=(), max_length=16, description="Signal heads, one per ROI")
    roi: tuple[int, int, int, int] | None = Field(
        default=None, description="Shorthand for one head named main with this (x1, y1, x2, y2) ROI"
    )
    min_consecutive: int = Field(
        default=3, ge=1, le=100, description="Frames that must agree before a new state is accepted (debounce)"
    )

    @model_validator(mode="before")
    @classmethod
    def _one_roi(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("roi") is not None and not data.get("heads"):
            data = {**data, "heads": ({"id": "main", "roi": data["roi"]},)}
        return data

    @model_validator(mode="after")
    def _heads(self) -> CameraSignalConfig:
        ids = [h.id for h in self.heads]
        if not ids:
            raise ValueError("camera signal config needs heads (or roi)")
        if len(set(ids)) != len(ids):
            raise ValueError(f"signal head ids must be unique: {ids}")
        return self


class Debouncer:
    """Per-frame states of one head -> accepted phase changes (``min_consecutive`` agreeing frames)."""

    def __init__(self, min_consecutive: int) -> None:
        self.min_consecutive = min_consecutive
        self.changes: list[PhaseChange] = []
        self.current = SignalState.UNKNOWN
        self._pending: list[tuple[float, SignalState]] = []

    def observe(self, state: SignalState, t: float) -> SignalState:
        """Feed one per-frame state; returns the debounced state."""
        if state == self.current:
            self._pending.clear()
            return self.current
        if self._pending and self._pending[-1][1] != state:
            self._pending.clear()
        self._pending.append((t, state))
        if len(self._pending) >= self.min_consecutive:
            self.current = state
            self.changes.append(PhaseChange(self._pending[0][0], state))
            logger.debug("signal -> %s at %.3f", state, self._pending[0][0])
            self._pending.clear()
        return self.current


class CameraSignalSource:
    """The signal state of each configured head read off the camera image by a signal-head classifier.

    Args:
        classifier: a ``SignalHeadClassifier`` (e.g. ``models.lights.LightClassifier``).
        config: the signal heads' ROIs and debounce.
    """

    def __init__(self, classifier: SignalHeadClassifier, config: CameraSignalConfig) -> None:
        self.classifier = classifier
        self.config = config
        self._heads = {h.id: Debouncer(config.min_consecutive) for h in config.heads}
        self.primary = config.heads[0].id

    @property
    def source(self) -> SignalSource:
        """Always the classifier."""
        return SignalSource.CLASSIFIER

    @property
    def head_ids(self) -> tuple[str, ...]:
        """The configured heads, in config order (the first is the primary)."""
        return tuple(self._heads)

    def _head(self, head_id: str | None) -> SignalHeadConfig:
        wanted = head_id or self.primary
        for head in self.config.heads:
            if head.id == wanted:
                return head
        raise KeyError(f"no signal head {wanted!r} (has {list(self._heads)})")

    def crop(self, frame: NDArray[np.uint8], head_id: str | None = None) -> NDArray[np.uint8]:
        """A head's ROI (default: the primary's) of a (H, W, 3) BGR frame, clipped to the frame (may be empty)."""
        height, width = frame.shape[:2]
        x1, y1, x2, y2 = self._head(head_id).roi
        x1, x2 = min(max(x1, 0), width), min(max(x2, 0), width)
        y1, y2 = min(max(y1, 0), height), min(max(y2, 0), height)
        return frame[y1:y2, x1:x2]

    def observe_heads(self, frame: NDArray[np.uint8], t: float) -> dict[str, SignalState]:
        """Classify every head in one frame at time ``t`` (increasing), in one batch; their debounced states."""
        crops = {h: self.crop(frame, h) for h in self._heads}
        visible = [h for h, c in crops.items() if c.size]
        read = dict(zip(visible, self.classifier.predict_states([crops[h] for h in visible]), strict=True))
        return {h: self.observe_state(read.get(h, SignalState.UNKNOWN), t, h) for h in self._heads}

    def observe(self, frame: NDArray[np.uint8], t: float) -> SignalState:
        """Classify every head in one frame; returns the primary head's debounced state."""
        return self.observe_heads(frame, t)[self.primary]

    def observe_state(self, state: SignalState, t: float, head_id: str | None = None) -> SignalState:
        """Feed one per-frame state of a head (default: the primary); returns its debounced state."""
        return self._heads[self._head(head_id).id].observe(state, t)

    def timeline(self, head_id: str | None = None) -> SignalTimeline:
        """A head's accepted phase changes so far (each stamped at the first frame that showed it)."""
        return SignalTimeline(self._heads[self._head(head_id).id].changes, SignalSource.CLASSIFIER)

    def feed(self, head_id: str) -> CameraHeadFeed:
        """One head as a ``SignalPhaseFeed``."""
        return CameraHeadFeed(self, self._head(head_id).id)


class CameraHeadFeed:
    """One camera-read signal head as a ``SignalPhaseFeed``."""

    def __init__(self, camera: CameraSignalSource, head_id: str) -> None:
        self.camera, self.head_id = camera, head_id

    @property
    def source(self) -> SignalSource:
        """Always the classifier."""
        return SignalSource.CLASSIFIER

    def timeline(self) -> SignalTimeline:
        """The head's accepted phase changes so far."""
        return self.camera.timeline(self.head_id)
