"""FLIR Lepton radiometric cores (Lepton 2.5 / 3.5 on a PureThermal board) through ``flirpy``.

With radiometry and TLinear enabled (the PureThermal default for radiometric cores), every pixel of the Y16 stream
is the scene temperature in kelvin times 100 (resolution 0.01 K; the core can also be set to 0.1 K). flirpy's
``Lepton.grab`` reads one frame from the UVC device, decodes and strips the two telemetry rows, and returns the
uint16 pixels; ``tlinear_to_celsius`` converts them exactly: integer arithmetic first, one division, so every
count maps to the float nearest ``count * resolution - 273.15`` and back again without loss.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hardware.thermal.live import LiveThermalSensor

logger = logging.getLogger(__name__)

ZERO_C_CENTIKELVIN = 27315
# Lepton 3.5 radiometric accuracy (high-gain mode): the greater of +-5 C or 5 %, stated as a maximum; a third
# of it is taken as 1-sigma. Without a blackbody reference this is far too coarse to screen for fever.
SIGMA_C = 5.0 / 3.0


TLINEAR_STEPS = {0.01: 1, 0.1: 10}  # TLinear resolution (K per count) -> centikelvin per count


def tlinear_to_celsius(counts: NDArray[Any], resolution_k: float = 0.01) -> NDArray[np.float32]:
    """TLinear counts (kelvin / resolution) -> degrees C, exactly (to the nearest float32).

    Args:
        counts: uint16 (H, W) pixels of a radiometric frame.
        resolution_k: the core's TLinear resolution, 0.01 K (centikelvin, default) or 0.1 K.
    """
    raw = np.asarray(counts)
    if raw.dtype.kind not in "ui":
        raise ValueError(f"TLinear counts must be integers, got {raw.dtype}")
    if resolution_k not in TLINEAR_STEPS:
        raise ValueError(f"TLinear resolution must be 0.01 or 0.1 K, got {resolution_k}")
    step = TLINEAR_STEPS[resolution_k]
    centi = raw.astype(np.int64) * step - ZERO_C_CENTIKELVIN
    return (centi / 100.0).astype(np.float32)


class LeptonReader:
    """Reads radiometric Lepton frames through a flirpy ``Lepton`` camera.

    Args:
        camera: a ``flirpy.camera.lepton.Lepton`` (its ``grab`` opens the UVC device on first use).
        device_id: the video device index; None lets flirpy find the PureThermal board.
        resolution_k: the core's TLinear resolution.
    """

    def __init__(self, camera: Any, device_id: int | None = None, resolution_k: float = 0.01) -> None:
        if resolution_k not in TLINEAR_STEPS:
            raise ValueError(f"TLinear resolution must be 0.01 or 0.1 K, got {resolution_k}")
        self.camera = camera
        self.device_id = device_id
        self.resolution_k = resolution_k
        self._shape: tuple[int, int] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the frames (120, 160 for a Lepton 3.5), known after the first frame."""
        return self._shape if self._shape is not None else (120, 160)

    @property
    def sensor_c(self) -> float | None:
        """The focal-plane temperature of the last frame's telemetry (degrees C), when flirpy decoded it."""
        kelvin = getattr(self.camera, "fpa_temp_k", None)
        return None if kelvin is None else float(kelvin) - 273.15

    def read(self) -> NDArray[np.float32]:
        """One frame in degrees C; raises OSError when the camera gives none."""
        image = self.camera.grab(self.device_id)
        if image is None:
            raise OSError("the Lepton gave no frame")
        frame = np.asarray(image)
        if frame.ndim != 2 or frame.dtype != np.uint16:
            raise OSError(f"the Lepton gave a {frame.dtype} {frame.shape} frame, not uint16 Y16 (radiometry off?)")
        self._shape = (int(frame.shape[0]), int(frame.shape[1]))
        return tlinear_to_celsius(frame, self.resolution_k)

    def close(self) -> None:
        """Release the video device."""
        self.camera.release()


def open_lepton(
    device_id: int | None = None, resolution_k: float = 0.01, tolerance_s: float = 0.25
) -> LiveThermalSensor:
    """The Lepton on a PureThermal board (UVC, Y16 with telemetry), as a sensor."""
    from flirpy.camera.lepton import Lepton

    return LiveThermalSensor(LeptonReader(Lepton(), device_id, resolution_k), SIGMA_C, tolerance_s)
