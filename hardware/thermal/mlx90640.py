"""Melexis MLX90640 (32x24 thermopile array, I2C) through the maintained ``adafruit-circuitpython-mlx90640``.

The library reads the EEPROM once (832 words at 0x2400) and extracts the calibration (VDD, PTAT, gain, offsets,
sensitivities, Kta/Kv, compensation pixel, deviating pixels); each frame is two subpages of raw RAM (834 words with
the control and status registers) turned into object temperatures To by the datasheet's calculation. Two things are
done here on top of it:

- its ``getFrame`` hard-codes emissivity 0.95; skin is ~0.98, and the datasheet's worked example uses 1.0, so the
  driver runs the library's own subpage read and To calculation with the configured emissivity and reflected
  temperature (``Ta - 8`` in open air, the library's and the datasheet's default);
- the library keeps its calibration tables on the class (shared by every instance in a process); ``_Device``
  gives each instance its own, so two sensors (or a test and a device) never mix calibrations.

Deviating pixels (the library reports -273.15) and pixels a subpage did not cover become NaN.
"""

from __future__ import annotations

import logging
from typing import Any

import adafruit_mlx90640
import numpy as np
from numpy.typing import NDArray

from hardware.thermal.live import LiveThermalSensor

logger = logging.getLogger(__name__)

ROWS, COLUMNS = 24, 32
ADDRESS = 0x33
# Datasheet accuracy of the BAA/BAB variants in the body-temperature range is +-1 C (typical, at Ta 25 C);
# taken as the 1-sigma uncertainty of an uncorrected reading. A blackbody reference in the scene replaces it.
SIGMA_C = 1.0
OPEN_AIR_REFLECTED_SHIFT_C = 8.0
REFRESH_RATES = {0.5: 0b000, 1: 0b001, 2: 0b010, 4: 0b011, 8: 0b100, 16: 0b101, 32: 0b110, 64: 0b111}


class _Device(adafruit_mlx90640.MLX90640):  # type: ignore[misc]
    """The library's driver with per-instance calibration tables (it mutates class-level lists in place)."""

    def __init__(self, i2c_bus: Any, address: int) -> None:
        self.ksTo: list[float] = [0.0] * 5
        self.ct: list[int] = [0] * 5
        self.alpha: list[int] = [0] * 768
        self.offset: list[int] = [0] * 768
        self.kta: list[int] = [0] * 768
        self.kv: list[int] = [0] * 768
        self.cpAlpha: list[float] = [0.0] * 2
        self.cpOffset: list[int] = [0] * 2
        self.ilChessC: list[float] = [0.0] * 3
        self.brokenPixels: list[int] = []
        self.outlierPixels: list[int] = []
        super().__init__(i2c_bus, address)


class Mlx90640Reader:
    """Reads whole MLX90640 frames (both subpages) in degrees C.

    Args:
        i2c_bus: a ``busio.I2C`` (or any object with its ``try_lock``/``unlock``/``writeto``/``readfrom_into``/
            ``writeto_then_readfrom`` methods).
        address: 7-bit I2C address (0x33 from the factory).
        emissivity: of the measured surface (skin ~0.98; 1.0 reproduces the datasheet's example).
        reflected_shift_c: reflected temperature = the sensor's ambient Ta minus this (8 C in open air).
        refresh_hz: sets the refresh rate when given (one of 0.5, 1, 2, 4, 8, 16, 32, 64); None keeps the device's.
    """

    def __init__(
        self,
        i2c_bus: Any,
        address: int = ADDRESS,
        emissivity: float = 0.98,
        reflected_shift_c: float = OPEN_AIR_REFLECTED_SHIFT_C,
        refresh_hz: float | None = None,
    ) -> None:
        if not 0.1 <= emissivity <= 1.0:
            raise ValueError(f"emissivity must be in [0.1, 1], got {emissivity}")
        try:
            self.device = _Device(i2c_bus, address)
        except ValueError as exc:  # adafruit_bus_device's probe: nothing acknowledged the address
            raise OSError(f"no MLX90640 answers at I2C address 0x{address:02x}: {exc}") from exc
        self.emissivity = emissivity
        self.reflected_shift_c = reflected_shift_c
        self.ambient_c: float | None = None
        if refresh_hz is not None:
            if refresh_hz not in REFRESH_RATES:
                raise ValueError(f"refresh_hz must be one of {sorted(REFRESH_RATES)}, got {refresh_hz}")
            self.device.refresh_rate = REFRESH_RATES[refresh_hz]
        logger.info(
            "MLX90640 at 0x%02x: %d broken, %d outlier pixels",
            address,
            len(self.device.brokenPixels),
            len(self.device.outlierPixels),
        )

    @property
    def shape(self) -> tuple[int, int]:
        """(24, 32)."""
        return ROWS, COLUMNS

    def read_subpage(self) -> list[int]:
        """The raw words of the next measured subpage: 832 RAM words, the control register, the subpage number."""
        words = [0] * 834
        status = self.device._GetFrameData(words)
        if status < 0:
            raise RuntimeError("MLX90640 frame data error")
        return words

    def ambient(self, words: list[int]) -> float:
        """The sensor's ambient temperature Ta (degrees C) of a subpage."""
        return float(self.device._GetTa(words))

    def supply_voltage(self, words: list[int]) -> float:
        """The sensor's supply voltage (V) of a subpage."""
        return float(self.device._GetVdd(words))

    def to_celsius(self, words: list[int], out: list[float]) -> None:
        """Object temperatures of the subpage's pixels written into ``out`` (768, row-major); others untouched."""
        ta = self.ambient(words)
        self.ambient_c = ta
        self.device._CalculateTo(words, self.emissivity, ta - self.reflected_shift_c, out)

    def read(self) -> NDArray[np.float32]:
        """One frame (both subpages), (24, 32) degrees C; NaN for deviating pixels and pixels never measured."""
        values = [float("nan")] * (ROWS * COLUMNS)
        seen: set[int] = set()
        for _ in range(4):
            words = self.read_subpage()
            self.to_celsius(words, values)
            seen.add(words[833])
            if len(seen) == 2:
                break
        frame = np.asarray(values, np.float32).reshape(ROWS, COLUMNS)
        frame[frame <= -273.0] = np.nan
        return frame

    def close(self) -> None:
        """Nothing to release: the bus belongs to the caller."""


def open_mlx90640(
    address: int = ADDRESS,
    frequency_hz: int = 800_000,
    emissivity: float = 0.98,
    refresh_hz: float | None = 8,
    tolerance_s: float = 0.25,
) -> LiveThermalSensor:
    """The MLX90640 on the board's default I2C pins (Raspberry Pi and other Blinka boards), as a sensor."""
    import board
    import busio

    bus = busio.I2C(board.SCL, board.SDA, frequency=frequency_hz)
    reader = Mlx90640Reader(bus, address, emissivity=emissivity, refresh_hz=refresh_hz)
    return LiveThermalSensor(reader, SIGMA_C, tolerance_s)
