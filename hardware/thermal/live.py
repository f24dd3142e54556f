"""A live radiometric sensor: a device that reads one frame in degrees C on demand, timestamped on arrival.

``LiveThermalSensor`` turns any ``FrameReader`` (``hardware.thermal.mlx90640``, ``hardware.thermal.lepton``) into a
``ThermalSensor``: the visible pipeline asks for the frame nearest a visible frame's capture time; the last frame
is reused while it is within the tolerance, otherwise a new one is read. A device that fails to deliver gives
None (the tamper monitor's thermal check reports it), never a stale or zero frame.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from hardware.thermal import ThermalFrame

logger = logging.getLogger(__name__)


class FrameReader(Protocol):
    """A device that reads one radiometric frame (H, W) in degrees C, NaN where it has no data."""

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of its frames."""
        ...

    def read(self) -> NDArray[np.float32]:
        """Block until the next frame; raises OSError or RuntimeError when the device fails."""
        ...

    def close(self) -> None:
        """Release the device."""
        ...


def utc_now() -> datetime:
    """The wall clock in UTC (the default clock of live sensors)."""
    return datetime.now(UTC)


class LiveThermalSensor:
    """``ThermalSensor`` over a live ``FrameReader``.

    Args:
        reader: the device.
        sigma_c: the device's 1-sigma temperature uncertainty, degrees C (from its datasheet or a calibration).
        tolerance_s: a frame further than this from the visible frame is not used.
        clock: capture-time source of the thermal frames (UTC); the visible camera must share it.
    """

    def __init__(
        self,
        reader: FrameReader,
        sigma_c: float,
        tolerance_s: float = 0.25,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.reader = reader
        self.sigma_c = sigma_c
        self.tolerance_s = tolerance_s
        self.clock = clock
        self.failures = 0
        self._last: ThermalFrame | None = None
        self._index = 0

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the thermal frames."""
        return self.reader.shape

    def frame_at(self, at: datetime) -> ThermalFrame | None:
        """The last frame when it is within the tolerance of ``at``, else a newly read one (None on failure)."""
        last = self._last
        if last is not None and abs((last.captured_at - at).total_seconds()) <= self.tolerance_s:
            return last
        try:
            celsius = self.reader.read()
        except (OSError, RuntimeError) as exc:
            self.failures += 1
            logger.warning("thermal sensor read failed (%d so far): %s", self.failures, exc)
            return None
        frame = ThermalFrame(np.asarray(celsius, np.float32), self.clock(), self._index, "sensor", self.sigma_c)
        self._index += 1
        self._last = frame
        if abs((frame.captured_at - at).total_seconds()) > self.tolerance_s:
            return None
        return frame

    def close(self) -> None:
        """Release the device."""
        self.reader.close()
