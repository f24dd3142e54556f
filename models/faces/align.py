"""Five-point face alignment with a similarity transform (rotation, uniform scale, translation).

Landmark order everywhere: left eye, right eye, nose, left mouth corner, right mouth corner (image left/right).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

# The widely used 112x112 five-point template (ArcFace / InsightFace), in the order above.
TEMPLATE_112: NDArray[np.float32] = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


def similarity_transform(src: NDArray[Any], dst: NDArray[Any]) -> NDArray[np.float32]:
    """Least-squares similarity transform (Umeyama) mapping ``src`` points onto ``dst``.

    Args:
        src: (K, 2) points.
        dst: (K, 2) points.

    Returns:
        (2, 3) float32 affine matrix ``M`` with ``dst ~= M @ [x, y, 1]``.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1.0
    rotation = u @ np.diag(d) @ vt
    var = (src_c**2).sum() / len(src)
    scale = float((s * d).sum() / var) if var > 0 else 1.0
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix.astype(np.float32)


def align_faces(image_bgr: NDArray[np.uint8], landmarks: NDArray[Any], size: int = 112) -> NDArray[np.uint8]:
    """Warp every face onto the five-point template.

    Args:
        image_bgr: (H, W, 3) uint8 image.
        landmarks: (N, 5, 2) landmarks in image pixels.
        size: output side; the 112-px template is scaled to it.

    Returns:
        (N, size, size, 3) uint8 aligned face chips.
    """
    points = np.asarray(landmarks, np.float32).reshape(-1, 5, 2)
    template = TEMPLATE_112 * (size / 112.0)
    out = np.zeros((len(points), size, size, 3), np.uint8)
    for i, face in enumerate(points):  # one warp per face: cv2 has no batched warpAffine
        matrix = similarity_transform(face, template)
        out[i] = cv2.warpAffine(image_bgr, matrix, (size, size), borderMode=cv2.BORDER_REPLICATE)
    return out


def frontalness(landmarks: NDArray[Any]) -> NDArray[np.float32]:
    """How frontal each face is, in [0, 1], from the nose position between the eyes and mouth corners.

    1 when the nose lies on the midline of the eye and mouth pairs, falling to 0 as the head turns (the nose moves
    towards one side) or rolls (the eye line tilts).

    Args:
        landmarks: (N, 5, 2) landmarks.

    Returns:
        (N,) float32 scores.
    """
    lm = np.asarray(landmarks, np.float32).reshape(-1, 5, 2)
    if len(lm) == 0:
        return np.zeros(0, np.float32)
    mid = (lm[:, 0] + lm[:, 1] + lm[:, 3] + lm[:, 4]) / 4.0
    eye_vec = lm[:, 1] - lm[:, 0]
    eye_dist = np.maximum(np.linalg.norm(eye_vec, axis=1), 1e-6)
    axis = eye_vec / eye_dist[:, None]
    yaw = np.abs(((lm[:, 2] - mid) * axis).sum(1)) / eye_dist  # 0 frontal, ~0.5 at profile
    roll = np.abs(np.arctan2(eye_vec[:, 1], np.abs(eye_vec[:, 0]) + 1e-6)) / (np.pi / 2)
    return np.asarray(np.clip(1.0 - 2.0 * yaw - roll, 0.0, 1.0), np.float32)
