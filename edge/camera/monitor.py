"""The camera tamper monitor: covered, defocused, moved, frozen, offline, clock drift, thermal fault, with hysteresis.

PUBLIC INTERFACE FIXED FOR PARALLEL WORK (the implementation is being written now): agents call ``observe`` with the
frames they already decode, ``observe_source`` with the frame source's status and ``observe_thermal`` with the
thermal sensor's health; each returns a ``HealthChange`` only when the debounced state changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from edge.camera.config import CameraHealthConfig
from hardware.camera import SourceStatus
from kuzet.contracts import CameraHealthMeasures, CameraHealthState


@dataclass(frozen=True, slots=True)
class HealthChange:
    """A change of the camera's debounced health, as the agent ships it."""

    state: CameraHealthState
    active: tuple[CameraHealthState, ...]
    previous: CameraHealthState
    since: datetime
    at: datetime
    measures: CameraHealthMeasures
    message: str


class CameraHealthMonitor:
    """Judges a camera's health from its frames (see module docstring).

    Args:
        config: thresholds, analysis rate and hysteresis.
        baseline: the reference recorded at installation; None takes it from the stream's first
            ``config.baseline_s`` seconds.
    """

    def __init__(self, config: CameraHealthConfig, baseline: object | None = None) -> None:
        raise NotImplementedError

    def observe(self, frame_bgr: NDArray[np.uint8], captured_at: datetime) -> HealthChange | None:
        """Analyse a decoded frame (cheaply skipped between analyses); a change when the debounced state changes."""
        raise NotImplementedError

    def observe_source(self, status: SourceStatus, at: datetime) -> HealthChange | None:
        """The frame source's status (offline / reconnecting / live)."""
        raise NotImplementedError

    def observe_thermal(self, ok: bool, at: datetime, reason: str = "") -> HealthChange | None:
        """The thermal sensor's health where there is one (False: silent, stuck or out of range)."""
        raise NotImplementedError

    @property
    def state(self) -> CameraHealthState:
        """The current debounced state (the most severe active one)."""
        raise NotImplementedError

    @property
    def active(self) -> tuple[CameraHealthState, ...]:
        """Every active non-healthy state, most severe first."""
        raise NotImplementedError

    @property
    def measures(self) -> CameraHealthMeasures:
        """The latest measures."""
        raise NotImplementedError
