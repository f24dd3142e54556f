"""FLIR Lepton radiometric source: TLinear centikelvin frames converted exactly, through flirpy's real ``Lepton``.

The fake is the UVC device flirpy reads (its ``cap``: an ``cv2.VideoCapture`` in Y16 mode, ``read()`` ->
``(ok, uint16 image)`` with the PureThermal's two telemetry rows at the bottom); flirpy's own ``grab`` decodes the
telemetry and strips those rows, as it does with the camera.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import numpy as np
import pytest
from flirpy.camera.lepton import Lepton

from hardware.thermal.lepton import LeptonReader, tlinear_to_celsius
from hardware.thermal.live import LiveThermalSensor

TELEMETRY = "<2cII16x4h6xIh2xh8xhI4xhhhhhh64xI172x"  # flirpy 0.6.2's footer layout (row -2 of the Y16 image)
FPA_K = 30815  # focal plane at 35.00 C, centikelvin


class ReplayedCapture:
    """Stands in for flirpy's ``cv2.VideoCapture`` on a PureThermal board: Y16 frames plus telemetry rows."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        self.frames = list(frames)
        self.released = False

    def read(self) -> tuple[bool, np.ndarray | None]:
        if not self.frames:
            return False, None
        pixels = self.frames.pop(0)
        values = (b"\x0e", b"\x01", 1000, 0, 1, 2, 3, 4, 7, 8000, FPA_K, FPA_K, 0, 0, 0, 119, 159, 0, 0, 0)
        telemetry = np.frombuffer(struct.pack(TELEMETRY, *values), np.uint16)
        footer = np.stack([telemetry, np.zeros(160, np.uint16)])
        return True, np.concatenate([pixels, footer]).astype(np.uint16)

    def isOpened(self) -> bool:  # noqa: N802 (cv2's name)
        return True

    def release(self) -> None:
        self.released = True


def camera_with(frames: list[np.ndarray]) -> Lepton:
    camera = Lepton()
    camera.cap = ReplayedCapture(frames)
    return camera


def test_every_count_converts_exactly_and_back() -> None:
    counts = np.arange(65536, dtype=np.uint16)
    celsius = tlinear_to_celsius(counts)
    expected = ((counts.astype(np.int64) - 27315) / 100.0).astype(np.float32)
    assert np.array_equal(celsius, expected)
    assert np.array_equal(np.round(celsius.astype(np.float64) * 100).astype(np.int64) + 27315, counts)
    assert tlinear_to_celsius(np.array([27315, 31015, 30965], np.uint16)).tolist() == pytest.approx(
        [0.0, 37.0, 36.5], abs=1e-6
    )


def test_tenth_kelvin_resolution_and_bad_input() -> None:
    assert tlinear_to_celsius(np.array([3101], np.uint16), 0.1)[0] == np.float32(36.95)
    with pytest.raises(ValueError):
        tlinear_to_celsius(np.array([1.5]))
    with pytest.raises(ValueError):
        tlinear_to_celsius(np.array([1], np.uint16), 0.05)


def test_frames_through_flirpy_are_exact() -> None:
    rng = np.random.default_rng(3)
    frames = [rng.integers(29000, 31500, size=(120, 160), dtype=np.uint16) for _ in range(2)]
    frames[1][40:60, 70:90] = 31015  # a 37.00 C face patch
    reader = LeptonReader(camera_with([f.copy() for f in frames]))
    for raw in frames:
        got = reader.read()
        assert got.shape == (120, 160), "flirpy strips the two telemetry rows"
        assert np.array_equal(got, ((raw.astype(np.int64) - 27315) / 100.0).astype(np.float32))
    assert reader.shape == (120, 160)
    assert reader.sensor_c == pytest.approx(35.0)
    assert np.all(got[40:60, 70:90] == np.float32(37.0))


def test_no_frame_is_no_reading_not_zero() -> None:
    sensor = LiveThermalSensor(LeptonReader(camera_with([])), sigma_c=1.7)
    assert sensor.frame_at(datetime.now(UTC)) is None
    assert sensor.failures == 1
    sensor.close()
    assert sensor.reader.camera.cap.released  # type: ignore[attr-defined]
