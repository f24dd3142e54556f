"""The tamper monitor's changes as wire events: ``to_event`` builds a ``CameraHealthEvent`` and ``HealthReporter``
runs a camera's monitor for an agent, spooling one event per debounced change (never per frame).

Both agents own one reporter per camera: they hand it every decoded frame (the monitor skips frames between its
analyses itself), the frame source's status when it changes, the thermal sensor's health where there is one, and
(traffic cameras with a signals section) the signal heads whose camera reading and controller feed disagree.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from edge.camera.baseline import Baseline
from edge.camera.config import CameraHealthConfig
from edge.camera.monitor import CameraHealthMonitor, HealthChange
from edge.spool import Spool
from hardware.camera import SourceStatus
from kuzet.contracts import CameraHealthEvent, CameraHealthMeasures, CameraHealthState, CameraId, ClockSource

logger = logging.getLogger(__name__)

QUIET_STATES = frozenset({"ended", "closed"})  # a file that ends or a source the agent closes is not an outage


def to_event(change: HealthChange, camera_id: CameraId, clock_source: ClockSource) -> CameraHealthEvent:
    """The wire event of one change (a new event id; ``captured_at`` is the time the change was judged)."""
    return CameraHealthEvent(
        event_id=uuid.uuid4(),
        camera_id=camera_id,
        captured_at=change.at,
        clock_source=clock_source,
        state=change.state,
        active=change.active,
        previous=change.previous,
        since=change.since,
        measures=change.measures,
        message=change.message,
    )


def load_baseline(config: CameraHealthConfig) -> Baseline | None:
    """The installation baseline named by ``config.baseline_path`` (``kuzet camera baseline`` wrote it); None when
    none is configured (the monitor then takes the stream's first seconds).

    Raises:
        BaselineError: the configured file is missing or is not a baseline (a device must not silently run
            against another reference than the one it was installed with).
    """
    return None if config.baseline_path is None else Baseline.load(config.baseline_path)


class HealthReporter:
    """One camera's tamper monitor, wired to the spool: every change becomes a spooled ``CameraHealthEvent``.

    With ``config.enabled`` False nothing is judged and the camera is always healthy.

    Args:
        config: the device's ``camera_health`` section.
        spool: where the events go.
        camera_id: the camera the events are about.
        clock_source: the clock that stamps the camera's frames.
        monitor: a ready monitor (default: one built from ``config`` and its baseline file).
    """

    def __init__(
        self,
        config: CameraHealthConfig,
        spool: Spool,
        camera_id: CameraId,
        clock_source: ClockSource,
        monitor: CameraHealthMonitor | None = None,
    ) -> None:
        self.config, self.spool, self.camera_id, self.clock_source = config, spool, camera_id, clock_source
        if monitor is None and config.enabled:
            monitor = CameraHealthMonitor(config, load_baseline(config))
        self.monitor = monitor
        self.events: list[CameraHealthEvent] = []
        self._last_at: datetime | None = None
        self._source_state: str | None = None

    def observe(self, frame_bgr: NDArray[np.uint8], captured_at: datetime) -> HealthChange | None:
        """A decoded frame; the change it caused (already spooled), if any."""
        self._last_at = captured_at
        if self.monitor is None:
            return None
        device_now = None if self.clock_source == ClockSource.FILE else datetime.now(UTC)  # a file has no clock
        return self._report(self.monitor.observe(frame_bgr, captured_at, device_now))

    def observe_source(self, status: SourceStatus, at: datetime | None = None) -> HealthChange | None:
        """The frame source's status; only a change of its state reaches the monitor, and a file that ended or a
        source the agent closed does not (that is no outage). ``at`` defaults to the last frame's capture time (the
        monitor's clock); before any frame and without ``at`` the status waits for the first frame."""
        when = at or self._last_at or status.last_frame_at
        if self.monitor is None or when is None or status.state in (self._source_state, *QUIET_STATES):
            return None
        self._source_state = status.state
        return self._report(self.monitor.observe_source(status, when))

    def observe_thermal(self, ok: bool, at: datetime, reason: str = "") -> HealthChange | None:
        """The thermal sensor's health at a frame (``hardware.thermal.thermal_health``)."""
        if self.monitor is None:
            return None
        return self._report(self.monitor.observe_thermal(ok, at, reason))

    def observe_signals(
        self, heads: tuple[str, ...], at: datetime, since: datetime | None = None, detail: str = ""
    ) -> HealthChange | None:
        """The signal heads whose camera reading and controller feed disagree now (``signal_mismatch``); ``since``:
        when the disagreement began, ``detail``: each head's two states, for the message."""
        if self.monitor is None:
            return None
        return self._report(self.monitor.observe_signals(heads, at, since, detail))

    @property
    def state(self) -> CameraHealthState:
        """The camera's current debounced state (healthy when the monitor is off)."""
        return self.monitor.state if self.monitor is not None else CameraHealthState.HEALTHY

    @property
    def active(self) -> tuple[CameraHealthState, ...]:
        """Every active non-healthy state, most severe first."""
        return self.monitor.active if self.monitor is not None else ()

    @property
    def measures(self) -> CameraHealthMeasures:
        """The monitor's latest measures (empty when it is off)."""
        return self.monitor.measures if self.monitor is not None else CameraHealthMeasures()

    def _report(self, change: HealthChange | None) -> HealthChange | None:
        if change is None:
            return None
        event = to_event(change, self.camera_id, self.clock_source)
        self.spool.put(event)
        self.events.append(event)
        active = ", ".join(s.value for s in change.active) or "none"
        logger.info("camera %s: spooled camera_health %s (active: %s)", self.camera_id, change.state.value, active)
        return change
