"""Box IoU, NMS and letterbox against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from models.geometry import box_iou_batch, clip_boxes, letterbox, nms


@pytest.mark.parametrize(
    ("a", "b", "iou"),
    [
        ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),
        ([0, 0, 10, 10], [5, 0, 15, 10], 50 / 150),
        ([0, 0, 10, 10], [20, 20, 30, 30], 0.0),
        ([0, 0, 10, 10], [2, 2, 4, 4], 4 / 100),
        ([0, 0, 0, 0], [0, 0, 0, 0], 0.0),
    ],
)
def test_iou_table(a: list[float], b: list[float], iou: float) -> None:
    assert box_iou_batch(np.array([a]), np.array([b]))[0, 0] == pytest.approx(iou, abs=1e-6)


def test_iou_shapes_and_empty() -> None:
    assert box_iou_batch(np.zeros((0, 4)), np.ones((3, 4))).shape == (0, 3)
    assert box_iou_batch(np.random.default_rng(0).random((4, 4)), np.ones((2, 4))).shape == (4, 2)


def test_nms_keeps_best_and_respects_classes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.95])
    assert nms(boxes, scores, 0.5).tolist() == [3, 2]
    classes = np.array([0, 0, 0, 1])
    assert sorted(nms(boxes, scores, 0.5, classes).tolist()) == [0, 2, 3]
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).shape == (0,)


@pytest.mark.parametrize(("h", "w"), [(352, 640), (432, 768), (480, 640), (1080, 1920), (640, 480), (100, 37)])
def test_letterbox_maps_boxes_back_exactly(h: int, w: int) -> None:
    image = np.zeros((h, w, 3), np.uint8)
    box = np.array([[w * 0.1, h * 0.2, w * 0.6, h * 0.9]], np.float32)
    padded, lb = letterbox(image, (640, 640))
    assert padded.shape == (640, 640, 3)
    model_box = box * lb.ratio + np.array([lb.pad_x, lb.pad_y, lb.pad_x, lb.pad_y], np.float32)
    assert np.allclose(lb.to_image(model_box), box, atol=1e-3)


def test_clip_boxes() -> None:
    assert clip_boxes(np.array([[-5, -5, 700, 20]]), 640, 480).tolist() == [[0, 0, 640, 20]]
