"""What every face model family shares: the three interfaces and the post-processing all detector backends end with.

Backends (``centerface``, ``mtcnn``, ``embedder``, ``mask``) import this module and never each other; the
registries in ``detector.py`` and ``embedder.py`` import the backends. Landmark order everywhere: left eye, right
eye, nose, left mouth corner, right mouth corner (left/right in the image).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from models.detections import Detections
from models.faces.config import FaceDetectorConfig
from models.geometry import clip_boxes, nms


class FaceDetector(Protocol):
    """Finds faces in a BGR image."""

    def detect(self, image_bgr: NDArray[np.uint8]) -> Detections:
        """Detect faces.

        Args:
            image_bgr: (H, W, 3) uint8 BGR image (a (H, W) grey image is accepted too).

        Returns:
            Boxes in image pixels, confidence in [0, 1] and ``data["landmarks"]`` (N, 5, 2) float32 image pixels in
            the landmark order above.
        """
        ...


class Embedder(Protocol):
    """Turns detected faces into L2-normalised embeddings (cosine similarity = dot product).

    Attributes:
        dim: embedding size.
        model: the tag templates made by this embedder carry (a gallery never mixes tags).
        far_table: (false-accept rate per comparison, cosine threshold) pairs, rate decreasing: this backend's
            cosine scale (``models.faces.openset`` derives per-pass thresholds from it).
    """

    dim: int
    model: str
    far_table: tuple[tuple[float, float], ...]

    def embed(self, image_bgr: NDArray[np.uint8], faces: Detections) -> NDArray[np.float32]:
        """Embed every face.

        Args:
            image_bgr: (H, W, 3) uint8 BGR image the faces were detected in.
            faces: N faces with ``data["landmarks"]`` (N, 5, 2) when available.

        Returns:
            (N, dim) float32 unit vectors.
        """
        ...


class MaskClassifier(Protocol):
    """P(mask) per face, and the P(mask) at or above which a face wears a mask."""

    threshold: float

    def predict(self, image_bgr: NDArray[np.uint8], faces: Detections) -> NDArray[np.float32]:
        """(N,) probabilities that each face wears a mask."""
        ...

    def judgeable(self, image_bgr: NDArray[np.uint8], faces: Detections) -> NDArray[np.bool_]:
        """(N,) whether each face is large, lit and sharp enough to judge at all (else the answer is unknown)."""
        ...

    def thresholds(self, image_bgr: NDArray[np.uint8], faces: Detections) -> NDArray[np.float32]:
        """(N,) the P(mask) at or above which each face wears a mask (a grey, IR-camera face may have its own)."""
        ...


def empty_faces() -> Detections:
    """No faces, with the landmark column present."""
    return Detections.empty(landmarks=(5, 2))


def finish_faces(
    xyxy: NDArray[Any],
    score: NDArray[Any],
    points: NDArray[Any],
    width: int,
    height: int,
    config: FaceDetectorConfig,
) -> Detections:
    """NMS, clip to the image and drop faces below ``min_face_size``; the last step of every detector backend."""
    keep = nms(xyxy, score, config.nms_iou)
    boxes = clip_boxes(xyxy[keep], width, height)
    wh = boxes[:, 2:] - boxes[:, :2]
    big = wh.min(axis=1) >= config.min_face_size
    if not big.any():
        return empty_faces()
    return Detections.build(
        boxes[big], np.asarray(score)[keep][big], data={"landmarks": np.asarray(points, np.float32)[keep][big]}
    )


__all__ = ["Embedder", "FaceDetector", "MaskClassifier", "empty_faces", "finish_faces"]
