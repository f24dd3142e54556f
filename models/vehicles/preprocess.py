"""Pre-processing for YOLO-family detectors: letterbox to the model size, BGR -> RGB, /255, NCHW float32."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from models.geometry import Letterbox, letterbox


def preprocess(image_bgr: NDArray[np.uint8], size: tuple[int, int]) -> tuple[NDArray[np.float32], Letterbox]:
    """Fit a frame into the model input.

    Args:
        image_bgr: (H, W, 3) uint8 BGR frame.
        size: model input (width, height).

    Returns:
        The (1, 3, height, width) float32 RGB tensor in [0, 1] and the ``Letterbox`` that maps boxes back.
    """
    padded, box = letterbox(image_bgr, size)
    blob = cv2.dnn.blobFromImage(padded, scalefactor=1.0 / 255.0, swapRB=True, crop=False)
    return np.ascontiguousarray(blob, dtype=np.float32), box
