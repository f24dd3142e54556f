"""MLX90640 driver: the datasheet's worked calculation example served by a replayed I2C bus.

The fake sits at the true external boundary: an object with the ``busio.I2C`` methods that
``adafruit_bus_device.I2CDevice`` calls (``try_lock``/``unlock``/``writeto``/``readfrom_into``/
``writeto_then_readfrom``), answering word reads the way the device does: EEPROM at 0x2400-0x273F, RAM at
0x0400-0x073F, the status register 0x8000 (new-data bit 3 cleared by the host, set again when the next subpage is
measured; subpage number in bit 0) and the control register 0x800D. Everything above it is the real library.

Where the numbers come from: Melexis MLX90640 datasheet (3901090640), section 11.2.2 "Example" of the temperature
calculation (pixel(12,16), emissivity 1): EEPROM calibration words 0x2410-0x243F, every pixel word 0x08A0, RAM
pixel 0x0261 (609), Ta_Vbe 0x4BF2, CP subpage 0 0xFFCA, gain 0x1881, Ta_PTAT 0x06AF, CP subpage 1 0xFFC8,
VddPix 0xCCC5, control register 0x1901; results Vdd = 3.319 V, Ta = 39.184 C, Kgain = 1.0175354694723,
pixel offset-compensated V_IR = 700.882495690866 and To = 80.36331 C. The words are as transcribed from the
datasheet in paxswill/mlx9064x-rs (Apache-2.0): mlx9064x-test-data/src/eeprom_data.rs
(``MLX90640_EEPROM_HEADER``, ``mlx90640_datasheet_eeprom``) and i2c_mock.rs (``datasheet_mlx90640_at_address``);
the intermediate and final figures from its calculations.rs tests.

Known gap (reported, not hidden): with these words the library reproduces Vdd, Ta, Kgain and the pixel's V_IR to
1e-6 but gives To = 80.19 C, 0.18 C below the datasheet's 80.36, so the 0.1 C target is missed. The datasheet's own
next step is not consistent with its words: its gradient-compensated V_IR 679.2509 implies a compensation-pixel
value of 21.63, while the printed CP words (offset -75, Kta_cp 0.00458, Kv_cp 0.5, raw -54) give 25.67 by the
datasheet's formula; its last formula fed its printed intermediates gives its 80.363, fed its inputs 80.15
(``test_where_the_datasheet_example_and_its_inputs_part``). The mlx9064x-rs driver test on the same data needs a
0.5 C tolerance for the same reason.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from hardware.thermal.live import LiveThermalSensor
from hardware.thermal.mlx90640 import Mlx90640Reader

# EEPROM 0x2410-0x243F of the datasheet example (0x2400-0x240F are device/config words, zero here).
EXAMPLE_HEADER = bytes.fromhex(
    "4210ffbb0202f202f2f2e2e2d1e1b1d1"
    "f10ff00fe0efe0efe1e1f3f2f404e504"
    "79a62f44ffdd221033332233ef019acc"
    "eedc10ff2221333323330112eeffbbdd"
    "18ef2ff159529d685454099469565354"
    "2363e446fbb5044bf020979797972889"
)
EXAMPLE_PIXEL_WORD = 0x08A0
EXAMPLE_RAM = {0x0700: 0x4BF2, 0x0708: 0xFFCA, 0x070A: 0x1881, 0x0720: 0x06AF, 0x0728: 0xFFC8, 0x072A: 0xCCC5}
EXAMPLE_PIXEL_RAW = 0x0261
EXAMPLE_CONTROL = 0x1901
ROW, COLUMN = 11, 15  # pixel(12, 16) of the datasheet, 1-based

DATASHEET_VDD = 3.319
DATASHEET_TA = 39.184
DATASHEET_KGAIN = 1.01753546947234
DATASHEET_VIR = 700.882495690866
DATASHEET_TO = 80.36331
MEASURED_GAP_TOLERANCE = 0.2  # the datasheet's 0.1 C target is missed by 0.18 C (see the module docstring)


def example_eeprom() -> list[int]:
    """832 EEPROM words: zero device words, the example calibration, every pixel 0x08A0."""
    header = list(struct.unpack(f">{len(EXAMPLE_HEADER) // 2}H", EXAMPLE_HEADER))
    return [0] * 16 + header + [EXAMPLE_PIXEL_WORD] * 768


class ReplayedMlx90640Bus:
    """A busio.I2C stand-in that answers like an MLX90640 holding the given EEPROM and RAM."""

    def __init__(self, eeprom: list[int], ram: dict[int, int], control: int, address: int = 0x33) -> None:
        self.address = address
        self.eeprom = eeprom
        self.ram = ram
        self.control = control
        self.status = 0x0008 | 0x0001  # new data in RAM, subpage 1
        self.locked = False
        self.frame_read = False
        self.measuring = False
        self.transactions = 0

    def try_lock(self) -> bool:
        if self.locked:
            return False
        self.locked = True
        return True

    def unlock(self) -> None:
        self.locked = False

    def _check(self, address: int) -> None:
        if address != self.address:
            raise OSError(121, f"no device at 0x{address:02x}")  # Remote I/O error: nobody ACKs
        self.transactions += 1

    def writeto(self, address: int, buffer: bytes, *, start: int = 0, end: int | None = None) -> None:
        self._check(address)
        data = bytes(buffer[start:end])
        if not data:
            return  # the bus-device probe
        if len(data) != 4:
            raise OSError(5, f"unexpected {len(data)}-byte write")
        register, value = struct.unpack(">HH", data)
        if register == 0x8000:  # the host clears new-data (bit 3) and may set bits 4-5; bits 0-2 are read-only
            self.status = (value & 0x0030) | (self.status & 0x0007)
            self.frame_read, self.measuring = False, False
        elif register == 0x800D:
            self.control = value
        else:
            raise OSError(5, f"write to read-only address 0x{register:04x}")

    def readfrom_into(self, address: int, buffer: bytearray, *, start: int = 0, end: int | None = None) -> None:
        self._check(address)

    def writeto_then_readfrom(
        self,
        address: int,
        out_buffer: bytes,
        in_buffer: bytearray,
        *,
        out_start: int = 0,
        out_end: int | None = None,
        in_start: int = 0,
        in_end: int | None = None,
    ) -> None:
        self._check(address)
        (first,) = struct.unpack(">H", bytes(out_buffer[out_start:out_end]))
        stop = len(in_buffer) if in_end is None else in_end
        words = [self._word(first + i) for i in range((stop - in_start) // 2)]
        in_buffer[in_start:stop] = struct.pack(f">{len(words)}H", *words)
        if first == 0x0400 and len(words) >= 768:
            self.frame_read = True

    def _word(self, register: int) -> int:
        if 0x2400 <= register < 0x2740:
            return self.eeprom[register - 0x2400]
        if 0x0400 <= register < 0x0700:
            return EXAMPLE_PIXEL_RAW
        if 0x0700 <= register < 0x0740:
            return self.ram.get(register, 0)
        if register == 0x8000:
            return self._poll_status()
        if register == 0x800D:
            return self.control
        return 0

    def _poll_status(self) -> int:
        """The next subpage is measured while the host works: new data on the second poll after a frame read."""
        if not self.status & 0x0008 and self.frame_read:
            if self.measuring:
                self.status = (self.status & 0x0030) | 0x0008 | ((self.status & 0x0001) ^ 1)
                self.frame_read = self.measuring = False
            else:
                self.measuring = True
        return self.status


@pytest.fixture(scope="module")
def example_bus() -> ReplayedMlx90640Bus:
    return ReplayedMlx90640Bus(example_eeprom(), EXAMPLE_RAM, EXAMPLE_CONTROL)


@pytest.fixture(scope="module")
def example_reader(example_bus: ReplayedMlx90640Bus) -> Mlx90640Reader:
    return Mlx90640Reader(example_bus, emissivity=1.0)


def test_datasheet_supply_ambient_gain_and_pixel_offset(example_reader: Mlx90640Reader) -> None:
    words = example_reader.read_subpage()
    device = example_reader.device
    assert example_reader.supply_voltage(words) == pytest.approx(DATASHEET_VDD, abs=0.001)
    assert example_reader.ambient(words) == pytest.approx(DATASHEET_TA, abs=0.001)
    kgain = device.gainEE / words[778]
    assert kgain == pytest.approx(DATASHEET_KGAIN, abs=1e-9)
    pixel = ROW * 32 + COLUMN
    ta, vdd = example_reader.ambient(words), example_reader.supply_voltage(words)
    kta, kv = device.kta[pixel] / 2**device.ktaScale, device.kv[pixel] / 2**device.kvScale
    v_ir = words[pixel] * kgain - device.offset[pixel] * (1 + kta * (ta - 25)) * (1 + kv * (vdd - 3.3))
    assert v_ir == pytest.approx(DATASHEET_VIR, abs=1e-3)


def test_datasheet_pixel_temperature_through_the_bus(example_reader: Mlx90640Reader) -> None:
    frame = example_reader.read()
    assert frame.shape == (24, 32) and frame.dtype == np.float32
    assert np.isfinite(frame).all(), "both subpages were read: every pixel has a temperature"
    to = float(frame[ROW, COLUMN])
    assert abs(to - DATASHEET_TO) <= MEASURED_GAP_TOLERANCE, to
    assert to == pytest.approx(80.19, abs=0.01)  # pins today's figure: a change in the library shows here


def test_emissivity_reaches_the_calculation(example_bus: ReplayedMlx90640Bus) -> None:
    """Skin (0.98) reads warmer than a perfect emitter for the same radiance; the library's fixed 0.95 is not used."""
    at_one = Mlx90640Reader(example_bus, emissivity=1.0).read()[ROW, COLUMN]
    skin = Mlx90640Reader(example_bus, emissivity=0.98).read()[ROW, COLUMN]
    assert 0.3 < skin - at_one < 3.0, (at_one, skin)


def test_calibrations_stay_per_device_and_broken_pixels_read_nan() -> None:
    good = Mlx90640Reader(ReplayedMlx90640Bus(example_eeprom(), EXAMPLE_RAM, EXAMPLE_CONTROL), emissivity=1.0)
    eeprom = example_eeprom()
    eeprom[64 + 5 * 32 + 7] = 0x0000  # pixel (5, 7) failed at calibration
    broken = Mlx90640Reader(ReplayedMlx90640Bus(eeprom, EXAMPLE_RAM, EXAMPLE_CONTROL), emissivity=1.0)
    assert broken.device.brokenPixels == [5 * 32 + 7]
    assert good.device.brokenPixels == [], "the library's class-level tables must not leak between devices"
    frame = broken.read()
    assert np.isnan(frame[5, 7]) and np.isfinite(np.delete(frame.ravel(), 5 * 32 + 7)).all()
    assert np.isfinite(good.read()).all()


def test_live_sensor_wraps_the_reader(example_bus: ReplayedMlx90640Bus) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 9, 1, 3, 0, tzinfo=UTC)
    sensor = LiveThermalSensor(Mlx90640Reader(example_bus, emissivity=1.0), sigma_c=1.0, clock=lambda: now)
    frame = sensor.frame_at(now)
    assert frame is not None and frame.source == "sensor" and frame.sigma_c == 1.0
    assert sensor.frame_at(now + timedelta(seconds=0.1)) is frame  # reused within the tolerance
    assert sensor.frame_at(now + timedelta(seconds=5)) is None  # a new read, but stamped too far from the frame


def test_absent_device_is_an_os_error() -> None:
    with pytest.raises(OSError):
        Mlx90640Reader(ReplayedMlx90640Bus(example_eeprom(), EXAMPLE_RAM, EXAMPLE_CONTROL, address=0x34))


def _to_basic_range(v_ir: float, alpha: float, ta: float, ks_to: float) -> float:
    """The datasheet's object temperature (section 11.2.2.9, range 0 C..CT3, emissivity 1: TaTr = Ta^4)."""
    ta_tr = (ta + 273.15) ** 4
    sx = ks_to * (alpha**3 * v_ir + alpha**4 * ta_tr) ** 0.25
    return float((v_ir / (alpha * (1 - ks_to * 273.15) + sx) + ta_tr) ** 0.25 - 273.15)


def test_where_the_datasheet_example_and_its_inputs_part(example_reader: Mlx90640Reader) -> None:
    """The datasheet's own last step, fed its printed intermediates (V_IR 679.2509, alpha 1.1876487e-7), gives its
    80.36331; the same formulas fed its printed inputs give ~80.15 (the driver: 80.19, the library averaging both
    compensation pixels' alpha as Melexis' C library does). The step that parts is the compensation pixel: its
    printed words give 25.67 where the printed V_IR implies 21.63."""
    words = example_reader.read_subpage()
    while words[833] != 0:  # pixel(12, 16) is measured in subpage 0 (chess pattern)
        words = example_reader.read_subpage()
    device = example_reader.device
    ta, vdd = example_reader.ambient(words), example_reader.supply_voltage(words)
    ks_to = device.ksTo[1]
    assert _to_basic_range(679.250909123826, 1.1876487360496e-7, DATASHEET_TA, ks_to) == pytest.approx(
        DATASHEET_TO, abs=1e-3
    )
    kgain = device.gainEE / words[778]
    cp = (words[776] - 65536) * kgain - device.cpOffset[0] * (1 + device.cpKta * (ta - 25)) * (
        1 + device.cpKv * (vdd - 3.3)
    )
    implied = DATASHEET_VIR - 679.250909123826  # what the datasheet's printed V_IR after TGC implies
    assert cp == pytest.approx(25.67, abs=0.01) and implied == pytest.approx(21.63, abs=0.01)
    pixel = ROW * 32 + COLUMN
    alpha_pixel = 1e-6 * 2**device.alphaScale / device.alpha[pixel] + device.tgc * sum(device.cpAlpha) / 2
    alpha = (alpha_pixel - device.tgc * device.cpAlpha[0]) * (1 + device.KsTa * (ta - 25))
    assert alpha == pytest.approx(1.1876487360496e-7, rel=1e-4)  # this step agrees with the datasheet
    from_inputs = _to_basic_range(DATASHEET_VIR - device.tgc * cp, alpha, ta, ks_to)
    assert from_inputs == pytest.approx(80.15, abs=0.01)
    assert abs(float(example_reader.read()[ROW, COLUMN]) - from_inputs) < 0.05
