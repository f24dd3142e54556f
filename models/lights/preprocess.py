"""Pre-processing of signal-head crops into the classifier's feature vector (shared by training and inference).

A crop (any size, BGR uint8, vertical signal head) is resized to ``WIDTH x HEIGHT`` with area averaging. Per pixel
we keep the brightness V and the colour as a saturation- and brightness-weighted unit hue vector
(``S*V*cos(hue)``, ``S*V*sin(hue)``), so red at hue 0 and hue 360 look the same, plus the scaled BGR values. The
lit lamp's position (top/middle/bottom) is kept by the grid layout.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

WIDTH = 8
HEIGHT = 16
N_FEATURES = WIDTH * HEIGHT * 6


def crop_features(crop: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Feature vector of one crop.

    Args:
        crop: (H, W, 3) BGR uint8, H, W >= 1.

    Returns:
        (N_FEATURES,) float32.
    """
    small = cv2.resize(crop, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV_FULL).astype(np.float32) / 255.0
    hue = hsv[..., 0] * (2.0 * np.pi)
    sat_val = hsv[..., 1] * hsv[..., 2]
    colour = np.stack([hsv[..., 2], sat_val * np.cos(hue), sat_val * np.sin(hue)], axis=-1)
    return np.concatenate([colour.ravel(), small.astype(np.float32).ravel() / 255.0]).astype(np.float32)


def batch_features(crops: Sequence[NDArray[np.uint8]]) -> NDArray[np.float32]:
    """(N, N_FEATURES) float32 features of N crops (N may be 0)."""
    if not crops:
        return np.zeros((0, N_FEATURES), dtype=np.float32)
    return np.stack([crop_features(c) for c in crops])
