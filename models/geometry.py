"""Pure numpy box geometry: IoU, non-maximum suppression, letterbox resize."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray


def box_iou_batch(a: NDArray[Any], b: NDArray[Any]) -> NDArray[np.float32]:
    """Pairwise IoU of (N, 4) and (M, 4) xyxy boxes, returned as (N, M); empty inputs give an empty matrix."""
    a = np.asarray(a, np.float32).reshape(-1, 4)
    b = np.asarray(b, np.float32).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(bottom_right - top_left, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0).astype(np.float32)


def nms(
    xyxy: NDArray[Any], scores: NDArray[Any], iou_threshold: float, class_id: NDArray[Any] | None = None
) -> NDArray[np.int64]:
    """Greedy non-maximum suppression; class-aware when ``class_id`` is given.

    Class awareness uses the coordinate-offset trick: boxes of different classes are shifted apart so they never
    overlap, and one suppression pass handles every class.

    Returns:
        Indices of the kept boxes, best score first.
    """
    boxes = np.asarray(xyxy, np.float32).reshape(-1, 4)
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    if class_id is not None:
        offset = (float(boxes.max()) + 1.0) * np.asarray(class_id, np.float32)[:, None]
        boxes = boxes + offset
    order = np.argsort(-np.asarray(scores, np.float32), kind="stable")
    iou = box_iou_batch(boxes[order], boxes[order])
    keep = np.ones(len(order), bool)
    for i in range(len(order)):  # O(kept) iterations over a precomputed matrix; N is small after thresholding
        if keep[i]:
            keep[i + 1 :] &= iou[i, i + 1 :] <= iou_threshold
    return order[keep].astype(np.int64)


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How an image was fitted into the model input: ``model = image * ratio + (pad_x, pad_y)``."""

    ratio: float
    pad_x: float
    pad_y: float

    def to_image(self, xyxy: NDArray[Any]) -> NDArray[np.float32]:
        """Map (N, 4) boxes from model input pixels back to original image pixels."""
        boxes = np.asarray(xyxy, np.float32).reshape(-1, 4).copy()
        boxes[:, [0, 2]] -= self.pad_x
        boxes[:, [1, 3]] -= self.pad_y
        return (boxes / self.ratio).astype(np.float32)


def letterbox(image: NDArray[np.uint8], size: tuple[int, int], fill: int = 114) -> tuple[NDArray[np.uint8], Letterbox]:
    """Resize keeping aspect ratio and pad to ``size`` (width, height), centred.

    Returns:
        The padded (H, W, C) image and the ``Letterbox`` that maps boxes back exactly.
    """
    target_w, target_h = size
    h, w = image.shape[:2]
    ratio = min(target_w / w, target_h / h)
    new_w, new_h = round(w * ratio), round(h * ratio)
    resized = image if (new_w, new_h) == (w, h) else cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    pad_x, pad_y = (target_w - new_w) / 2.0, (target_h - new_h) / 2.0
    top, left = round(pad_y - 0.1), round(pad_x - 0.1)
    out = np.full((target_h, target_w, *image.shape[2:]), fill, dtype=np.uint8)
    out[top : top + new_h, left : left + new_w] = resized
    return out, Letterbox(ratio=ratio, pad_x=float(left), pad_y=float(top))


def clip_boxes(xyxy: NDArray[Any], width: int, height: int) -> NDArray[np.float32]:
    """Clip (N, 4) boxes to the image."""
    boxes = np.asarray(xyxy, np.float32).reshape(-1, 4).copy()
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, width)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, height)
    return boxes
