"""Vectorised decoding of a YOLOv8 head: (1, 4 + C, A) -> class-filtered, thresholded, NMS-ed ``Detections``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.detections import Detections
from models.geometry import Letterbox, clip_boxes, nms


@dataclass(frozen=True, slots=True)
class DecodeParams:
    """Fixed decoding parameters, built once by the detector.

    Attributes:
        class_ids: (K,) int64 model class ids to keep (rows 4 + id of the head).
        nms_groups: (K,) int64 NMS group of each kept class (classes in one group suppress each other).
        score_threshold: minimum class score kept.
        iou_threshold: class-aware NMS IoU threshold.
        max_detections: cap on boxes returned per frame.
    """

    class_ids: NDArray[np.int64]
    nms_groups: NDArray[np.int64]
    score_threshold: float
    iou_threshold: float
    max_detections: int


def decode_yolov8(
    output: NDArray[np.float32], params: DecodeParams, box: Letterbox, image_size: tuple[int, int]
) -> Detections:
    """Decode the whole head output at once (no per-anchor loop).

    Args:
        output: (1, 4 + C, A) float32: rows cx, cy, w, h (model pixels) then C class scores, A anchors.
        params: kept classes and thresholds.
        box: the letterbox used on this frame.
        image_size: original (width, height), for clipping.

    Returns:
        Detections in original image pixels; ``class_id`` holds the model (COCO) class id.
    """
    head = output[0]
    scores = head[4 + params.class_ids]  # (K, A)
    best = scores.argmax(axis=0)
    confidence = np.take_along_axis(scores, best[None, :], axis=0)[0]
    keep = confidence >= params.score_threshold
    if not keep.any():
        return Detections.empty()
    cxcywh = head[:4, keep].T
    half = cxcywh[:, 2:] / 2.0
    xyxy = np.concatenate([cxcywh[:, :2] - half, cxcywh[:, :2] + half], axis=1)
    class_id = params.class_ids[best[keep]]
    confidence = confidence[keep]
    kept = nms(xyxy, confidence, params.iou_threshold, params.nms_groups[best[keep]])[: params.max_detections]
    boxes = clip_boxes(box.to_image(xyxy[kept]), image_size[0], image_size[1])
    return Detections.build(boxes, confidence[kept], class_id[kept])
