"""A camera's reference for the tamper monitor: a small grey picture of the installed view and its measures.

Recorded at installation by ``kuzet camera baseline`` (``record_baseline`` + ``Baseline.save``) or taken by the
monitor from a stream's first seconds. Stored as a small ``.npz``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from edge.camera.measures import brightness_contrast, flat_fraction, sharpness, to_grey

FORMAT_VERSION = 1
DEFAULT_WIDTH = 320
FLAT_BLOCK = 16
FLAT_STD = 1.5


class BaselineError(ValueError):
    """The baseline file is missing, unreadable or of another format; the message says which."""


@dataclass(frozen=True, slots=True)
class Baseline:
    """The installed view.

    Attributes:
        reference: (h, w) uint8 grey picture (pixel-wise median of the recorded frames), analysed size.
        sharpness: median Laplacian variance of the recorded frames (analysed size).
        brightness: median mean grey level, 0-255.
        contrast: median grey-level std, 0-255.
        flat_fraction: median share of featureless tiles (see ``measures.flat_fraction``).
        frame_size: (width, height) of the full frames, px.
    """

    reference: NDArray[np.uint8]
    sharpness: float
    brightness: float
    contrast: float
    flat_fraction: float
    frame_size: tuple[int, int]

    @property
    def scale(self) -> float:
        """Full-frame px per reference px."""
        return float(self.frame_size[0]) / float(self.reference.shape[1])

    def save(self, path: Path) -> None:
        """Write the baseline as ``.npz`` (folders created)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            np.savez_compressed(
                handle,
                version=np.int64(FORMAT_VERSION),
                reference=self.reference,
                figures=np.array([self.sharpness, self.brightness, self.contrast, self.flat_fraction]),
                frame_size=np.array(self.frame_size, dtype=np.int64),
            )

    @classmethod
    def load(cls, path: Path) -> Baseline:
        """Read a baseline written by ``save``; ``BaselineError`` with one line otherwise."""
        if not path.is_file():
            raise BaselineError(f"baseline file {path} does not exist (record one with `kuzet camera baseline`)")
        try:
            with np.load(path) as data:
                version = int(data["version"])
                reference = np.asarray(data["reference"], dtype=np.uint8)
                figures = [float(x) for x in data["figures"]]
                width, height = (int(x) for x in data["frame_size"])
        except (OSError, ValueError, KeyError) as exc:
            raise BaselineError(f"baseline file {path} is not a camera baseline: {exc}") from exc
        if version != FORMAT_VERSION or reference.ndim != 2 or len(figures) != 4:
            raise BaselineError(f"baseline file {path} has format {version}, expected {FORMAT_VERSION}")
        return cls(reference, figures[0], figures[1], figures[2], figures[3], (width, height))


def baseline_from_grey(
    greys: list[NDArray[np.uint8]],
    frame_size: tuple[int, int],
    flat_block: int = FLAT_BLOCK,
    flat_std: float = FLAT_STD,
) -> Baseline:
    """A baseline from analysed grey pictures of one size (at least one); tiles as in ``flat_fraction``."""
    if not greys:
        raise BaselineError("no frames to record a baseline from")
    stack = np.stack(greys)
    figures = np.array([(sharpness(g), *brightness_contrast(g), flat_fraction(g, flat_block, flat_std)) for g in greys])
    med = np.median(figures, axis=0)
    reference = np.median(stack, axis=0).astype(np.uint8)
    return Baseline(reference, float(med[0]), float(med[1]), float(med[2]), float(med[3]), frame_size)


def record_baseline(
    frames: Iterable[NDArray[np.uint8]],
    width: int = DEFAULT_WIDTH,
    flat_block: int = FLAT_BLOCK,
    flat_std: float = FLAT_STD,
) -> Baseline:
    """A baseline from (H, W, 3) BGR frames of the installed view (a few seconds, sampled), analysed ``width`` wide."""
    greys: list[NDArray[np.uint8]] = []
    size = (0, 0)
    for frame in frames:
        size = (int(frame.shape[1]), int(frame.shape[0]))
        greys.append(to_grey(frame, width))
    return baseline_from_grey(greys, size, flat_block, flat_std)
