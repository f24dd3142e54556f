"""Light and optics augmentations of face crops for ``models.training.masks``: what a door camera sees at dusk, in
IR night mode, through motion blur or at a distance.

Each degradation is a small pure function of a BGR crop and a seeded generator; ``degrade`` draws one of the
``KINDS`` (or a named one) so the training set holds, next to every original training crop, copies that are
- ``dark``: exposure scaled down 3-8x with a gamma and sensor noise (an unlit corridor, a face against the sky),
- ``blur``: Gaussian or horizontal motion blur (a pupil walking past at 1/30 s),
- ``grey``: one luma channel, contrast and gamma varied (IR night mode: no colour, skin and cloth look alike),
- ``lowres``: shrunk to 10-20 px and back (a far face),
- ``night``: dark + blur + grey together (the hardest, the Hamilton clip's audience).
Copies keep the group of their original so that a photo and its copies always sit on one side of every split.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from numpy.typing import NDArray

Crop = NDArray[np.uint8]
KINDS = ("dark", "blur", "grey", "lowres", "night")


def _noise(image: NDArray[np.float32], rng: np.random.Generator, sigma: float) -> NDArray[np.float32]:
    """Gaussian noise; one plane shared by all channels when the image is grey (a mono IR sensor stays mono)."""
    mono = image.ndim == 3 and bool(np.all(image[..., :1] == image))
    shape = (*image.shape[:2], 1) if mono else image.shape
    noisy: NDArray[np.float32] = image + rng.normal(0.0, sigma, shape).astype(np.float32)
    return noisy


def _to_uint8(image: NDArray[np.float32]) -> Crop:
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def dark(crop: Crop, rng: np.random.Generator) -> Crop:
    """Exposure / 3-8, gamma 1.0-1.6 and Gaussian sensor noise (sigma 1-4 levels)."""
    scaled = (crop.astype(np.float32) / 255.0) ** rng.uniform(1.0, 1.6) * 255.0 / rng.uniform(3.0, 8.0)
    return _to_uint8(_noise(scaled, rng, rng.uniform(1.0, 4.0)))


def blur(crop: Crop, rng: np.random.Generator) -> Crop:
    """Gaussian blur (sigma 4-12 % of the crop side) or a horizontal motion streak of the same length."""
    side = max(min(crop.shape[:2]), 1)
    length = max(3, round(side * rng.uniform(0.08, 0.25)) | 1)
    if rng.random() < 0.5:
        sigma = side * rng.uniform(0.04, 0.12)
        return np.asarray(cv2.GaussianBlur(crop, (0, 0), sigmaX=max(sigma, 0.6)), np.uint8)
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length
    rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), float(rng.uniform(-20, 20)), 1.0)
    turned = np.asarray(cv2.warpAffine(kernel, rotation, (length, length)), np.float32)
    turned /= max(float(turned.sum()), 1e-6)
    return np.asarray(cv2.filter2D(crop, -1, turned), np.uint8)


def grey(crop: Crop, rng: np.random.Generator) -> Crop:
    """One luma channel (three equal channels), contrast x0.6-1.3 about the mean and gamma 0.7-1.4."""
    luma = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32)
    luma = (luma - luma.mean()) * rng.uniform(0.6, 1.3) + luma.mean()
    luma = (np.clip(luma, 0, 255) / 255.0) ** rng.uniform(0.7, 1.4) * 255.0
    return np.asarray(cv2.cvtColor(_to_uint8(luma), cv2.COLOR_GRAY2BGR), np.uint8)


def lowres(crop: Crop, rng: np.random.Generator) -> Crop:
    """Shrunk so its short side is 10-20 px, then returned at that size (the classifier resizes it)."""
    side = max(min(crop.shape[:2]), 1)
    scale = min(1.0, rng.uniform(10.0, 20.0) / side)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    return np.asarray(cv2.resize(crop, size, interpolation=cv2.INTER_AREA), np.uint8)


def night(crop: Crop, rng: np.random.Generator) -> Crop:
    """IR night at a distance: grey, then blurred, then dark (noise added last, as a sensor does)."""
    return dark(blur(grey(crop, rng), rng), rng)


DEGRADATIONS: dict[str, Callable[[Crop, np.random.Generator], Crop]] = {
    "dark": dark,
    "blur": blur,
    "grey": grey,
    "lowres": lowres,
    "night": night,
}


def degrade(crop: Crop, rng: np.random.Generator, kind: str | None = None) -> tuple[Crop, str]:
    """One degraded copy of a BGR crop: (copy, kind); ``kind`` None draws one of ``KINDS`` uniformly."""
    chosen = kind if kind is not None else KINDS[int(rng.integers(len(KINDS)))]
    if crop.size == 0:
        return crop, chosen
    return DEGRADATIONS[chosen](crop, rng), chosen
