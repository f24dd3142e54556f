"""Small pure array helpers every model family shares: image channel layout and unit vectors."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray


def as_bgr(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """(H, W) grey or (H, W, 4) BGRA -> (H, W, 3) BGR; BGR passes through unchanged."""
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), np.uint8)
    if image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR), np.uint8)
    return image


def l2_normalise(vectors: NDArray[Any]) -> NDArray[np.float32]:
    """Row-wise (last axis) unit vectors as float32; zero rows stay zero."""
    v = np.asarray(vectors, np.float32)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.asarray(v / np.maximum(norms, 1e-12), np.float32)


__all__ = ["as_bgr", "l2_normalise"]
