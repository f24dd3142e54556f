"""Vectorised constant-velocity Kalman filter over boxes (all tracks in one array operation).

State per track: ``(cx, cy, w, h, vcx, vcy, vw, vh)``; measurement: ``(cx, cy, w, h)``. Noise scales with the box
size, as in ByteTrack's xywh filter, so near and far vehicles are filtered alike.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

_DIM = 4


def xyxy_to_cxcywh(xyxy: NDArray[np.floating]) -> NDArray[np.float64]:
    """(N, 4) corners -> (N, 4) centre, width, height."""
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    wh = xyxy[:, 2:] - xyxy[:, :2]
    return np.concatenate([xyxy[:, :2] + wh / 2.0, wh], axis=1)


def cxcywh_to_xyxy(cxcywh: NDArray[np.floating]) -> NDArray[np.float32]:
    """(N, 4) centre, width, height -> (N, 4) corners."""
    cxcywh = np.asarray(cxcywh, np.float64).reshape(-1, 4)
    half = np.abs(cxcywh[:, 2:]) / 2.0
    return np.concatenate([cxcywh[:, :2] - half, cxcywh[:, :2] + half], axis=1).astype(np.float32)


class BoxKalman:
    """Constant-velocity Kalman filter applied to N tracks at once.

    Args:
        std_position: position noise as a fraction of box size.
        std_velocity: velocity noise as a fraction of box size per frame.
    """

    def __init__(self, std_position: float = 1.0 / 20.0, std_velocity: float = 1.0 / 160.0) -> None:
        self.std_position = std_position
        self.std_velocity = std_velocity
        self.F = np.eye(2 * _DIM)
        self.F[:_DIM, _DIM:] = np.eye(_DIM)
        self.H = np.eye(_DIM, 2 * _DIM)

    def _scale(self, mean: NDArray[np.float64]) -> NDArray[np.float64]:
        """(N, 4) per-coordinate size scale (w, h, w, h)."""
        wh = np.maximum(np.abs(mean[:, 2:4]), 1.0)
        return np.concatenate([wh, wh], axis=1)

    def initiate(self, boxes_xyxy: NDArray[np.floating]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """New states from (N, 4) boxes: mean (N, 8) with zero velocity, covariance (N, 8, 8)."""
        z = xyxy_to_cxcywh(boxes_xyxy)
        mean = np.concatenate([z, np.zeros_like(z)], axis=1)
        scale = self._scale(mean)
        std = np.concatenate([2 * self.std_position * scale, 10 * self.std_velocity * scale], axis=1)
        cov = np.einsum("ni,ij->nij", std**2, np.eye(2 * _DIM))
        return mean, cov

    def predict(
        self, mean: NDArray[np.float64], cov: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Advance (N, 8) means and (N, 8, 8) covariances by one frame."""
        if len(mean) == 0:
            return mean, cov
        scale = self._scale(mean)
        std = np.concatenate([self.std_position * scale, self.std_velocity * scale], axis=1)
        q = np.einsum("ni,ij->nij", std**2, np.eye(2 * _DIM))
        mean = mean @ self.F.T
        cov = self.F @ cov @ self.F.T + q
        return mean, cov

    def update(
        self, mean: NDArray[np.float64], cov: NDArray[np.float64], boxes_xyxy: NDArray[np.floating]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Correct (N, 8) means / (N, 8, 8) covariances with (N, 4) measured boxes (row i measures track i)."""
        if len(mean) == 0:
            return mean, cov
        z = xyxy_to_cxcywh(boxes_xyxy)
        r_std = self.std_position * self._scale(mean)
        projected_cov = self.H @ cov @ self.H.T + np.einsum("ni,ij->nij", r_std**2, np.eye(_DIM))
        cross = cov @ self.H.T  # (N, 8, 4)
        gain = np.linalg.solve(projected_cov, np.transpose(cross, (0, 2, 1)))  # (N, 4, 8) = S^-1 (P H^T)^T
        gain = np.transpose(gain, (0, 2, 1))  # (N, 8, 4)
        innovation = z - mean[:, :_DIM]
        mean = mean + np.einsum("nij,nj->ni", gain, innovation)
        cov = cov - gain @ projected_cov @ np.transpose(gain, (0, 2, 1))
        return mean, cov
