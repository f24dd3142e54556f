"""Synthetic Kazakhstan plates (2012 layout) for grammar and OCR-robustness tests.

No real KZ plate photos with ground truth were found, so this renders the public layout: a white plate with a
black border, on the left a strip with the (sky-blue, sun) flag and ``KZ`` under it, the number in black
(``123 ABC`` or ``123 AB``), and on the right the two-digit region code behind a vertical bar. The font is OpenCV's
Hershey Duplex (present on every machine), not the official plate typeface, so accuracy on these images is a
robustness check, not a measurement on real KZ plates. Augmentation: perspective, blur, noise, brightness.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from kuzet.config import StrictModel
from models.plates.kz import REGIONS

PLATE_SIZE = (520, 112)  # width, height of the clean rendering (the real plate is 520 x 112 mm)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_FONT = cv2.FONT_HERSHEY_DUPLEX


class SynthConfig(StrictModel):
    """How strongly synthetic plates are degraded."""

    perspective: float = Field(default=0.06, ge=0.0, le=0.3, description="Corner jitter, fraction of the size")
    blur_sigma: float = Field(default=1.2, ge=0.0, le=5.0, description="Largest Gaussian blur sigma (pixels)")
    noise_std: float = Field(default=8.0, ge=0.0, le=60.0, description="Largest Gaussian noise std (grey levels)")
    brightness: float = Field(default=0.35, ge=0.0, le=0.9, description="Brightness varies by up to this fraction")
    out_height: int = Field(default=40, ge=16, le=200, description="Height of the returned crop (pixels)")
    margin: float = Field(default=0.08, ge=0.0, le=0.5, description="Background margin around the plate")


@dataclass(frozen=True, slots=True)
class SynthPlate:
    """One synthetic plate: the image (H, W, 3) BGR uint8 and its true text (no separators)."""

    image: NDArray[np.uint8]
    text: str
    plate_format: str


def random_text(rng: np.random.Generator, plate_format: str = "private") -> str:
    """A valid random plate text: ``private`` = NNN LLL RR, ``legal`` = NNN LL RR."""
    letters = 3 if plate_format == "private" else 2
    digits = "".join(str(d) for d in rng.integers(0, 10, 3))
    chars = "".join(rng.choice(list(_LETTERS), letters))
    region = str(rng.choice(sorted(REGIONS)))
    return digits + chars + region


def _put_centered(canvas: NDArray[np.uint8], text: str, box: tuple[int, int, int, int], thickness: int) -> None:
    """Draw ``text`` in black, scaled to fill ``box`` (x1, y1, x2, y2)."""
    x1, y1, x2, y2 = box
    (w, h), _ = cv2.getTextSize(text, _FONT, 1.0, thickness)
    scale = min((x2 - x1) / w, (y2 - y1) / h)
    (w, h), _ = cv2.getTextSize(text, _FONT, scale, thickness)
    origin = (x1 + (x2 - x1 - w) // 2, y1 + (y2 - y1 + h) // 2)
    cv2.putText(canvas, text, origin, _FONT, scale, (20, 20, 20), thickness, cv2.LINE_AA)


def render(text: str) -> NDArray[np.uint8]:
    """The clean (112, 520, 3) BGR plate for ``text`` (``123ABC02`` or ``123AB02``)."""
    width, height = PLATE_SIZE
    plate = np.full((height, width, 3), 250, np.uint8)
    cv2.rectangle(plate, (2, 2), (width - 3, height - 3), (20, 20, 20), 4)
    # left strip: flag (sky blue with a yellow sun) and KZ
    cv2.rectangle(plate, (12, 14), (62, 48), (200, 170, 0), -1)
    cv2.circle(plate, (37, 31), 8, (0, 215, 255), -1)
    _put_centered(plate, "KZ", (12, 58, 62, 96), 2)
    region, number = text[-2:], text[:-2]
    spaced = f"{number[:3]} {number[3:]}"
    _put_centered(plate, spaced, (76, 16, 420, 98), 5)
    cv2.line(plate, (432, 8), (432, height - 8), (20, 20, 20), 3)
    _put_centered(plate, region, (442, 26, 510, 88), 4)
    return plate


def degrade(plate: NDArray[np.uint8], rng: np.random.Generator, config: SynthConfig) -> NDArray[np.uint8]:
    """Perspective warp onto a background with margin, blur, brightness and noise; resized to ``out_height``."""
    height, width = plate.shape[:2]
    mx, my = int(width * config.margin), int(height * config.margin * 2)
    out_w, out_h = width + 2 * mx, height + 2 * my
    src = np.asarray([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    jitter = rng.uniform(-config.perspective, config.perspective, (4, 2)) * np.asarray([width, height])
    dst = (src + np.asarray([mx, my], np.float32) + jitter).astype(np.float32)
    background = int(rng.integers(40, 160))
    warped = cv2.warpPerspective(
        plate,
        cv2.getPerspectiveTransform(src, dst),
        (out_w, out_h),
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(background, background, background),
    )
    sigma = float(rng.uniform(0.0, config.blur_sigma)) * out_h / 112.0 * 2.0
    if sigma > 0.05:
        warped = cv2.GaussianBlur(warped, (0, 0), sigma)
    scale = config.out_height / out_h
    small = cv2.resize(warped, (round(out_w * scale), config.out_height), interpolation=cv2.INTER_AREA)
    gain = 1.0 + rng.uniform(-config.brightness, config.brightness)
    noisy = small.astype(np.float32) * gain + rng.normal(0.0, rng.uniform(0, config.noise_std), small.shape)
    return np.asarray(np.clip(noisy, 0, 255), np.uint8)


def generate(count: int, seed: int = 0, config: SynthConfig | None = None) -> list[SynthPlate]:
    """``count`` degraded synthetic plates, about 70 % private (NNN LLL RR) and 30 % legal (NNN LL RR)."""
    config = config or SynthConfig()
    rng = np.random.default_rng(seed)
    plates = []
    for _ in range(count):
        plate_format = "private" if rng.random() < 0.7 else "legal"
        text = random_text(rng, plate_format)
        plates.append(SynthPlate(degrade(render(text), rng, config), text, plate_format))
    return plates
