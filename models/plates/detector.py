"""Plate detectors behind one interface: ``detect(image_bgr) -> Detections`` (class 0 = plate).

Backends are registered in ``PLATE_DETECTORS`` (name -> factory), so a permissively licensed model can
replace the AGPL platedet weights by configuration:

- ``platedet``: YOLOv8s-seg ONNX from the ``platedet`` package (float16 input [1,3,640,640], output0 [1,37,8400] =
  cx, cy, w, h, plate score, 32 mask coefficients; the mask protos are not used). Accurate, ~280 ms per image.
- ``cascade``: OpenCV's ``haarcascade_russian_plate_number.xml``. Fast (~25 ms) but less accurate, no scores.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import onnx
from numpy.typing import NDArray

from models import yolo_graph
from models.detections import Detections
from models.geometry import Letterbox, clip_boxes, letterbox, nms
from models.plates.config import PlateDetectorConfig
from models.runtime import ModelError, Runner, int8_model_path, package_file

logger = logging.getLogger(__name__)

PLATEDET_PACKAGE = "platedet"
PLATEDET_FILE = "artifacts/platedet.onnx"
CASCADE_FILE = "haarcascade_russian_plate_number.xml"


class PlateDetector(Protocol):
    """Anything that finds plates in a BGR image."""

    def detect(self, image_bgr: NDArray[np.uint8]) -> Detections:
        """(H, W, 3) BGR image in, plate boxes (xyxy pixels, confidence, class 0) out."""
        ...


def platedet_preprocess(image_bgr: NDArray[np.uint8], size: int) -> tuple[NDArray[np.float16], Letterbox]:
    """Letterbox to ``size`` x ``size``, BGR -> RGB, scale to [0, 1], NCHW float16 (1, 3, size, size)."""
    boxed, box = letterbox(image_bgr, (size, size))
    tensor = boxed[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float16) / np.float16(255.0)
    return np.ascontiguousarray(tensor), box


def platedet_decode(
    output: NDArray[np.float32], config: PlateDetectorConfig, box: Letterbox, image_size: tuple[int, int]
) -> Detections:
    """Decode YOLOv8-seg output (1, 37, A) to plate boxes in image pixels, vectorised, then NMS.

    Args:
        output: raw ``output0``: rows 0-3 = cx, cy, w, h (input pixels), row 4 = plate score, rows 5+ = mask coefs.
        config: score threshold, NMS IoU, maximum count.
        box: the letterbox used at pre-processing.
        image_size: (width, height) of the original image.
    """
    pred = np.asarray(output, np.float32)[0]
    scores = pred[4]
    keep = scores >= config.score_threshold
    if not keep.any():
        return Detections.empty()
    cx, cy, w, h = pred[:4, keep]
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    order = nms(xyxy, scores[keep], config.nms_iou)[: config.max_plates]
    boxes = clip_boxes(box.to_image(xyxy[order]), *image_size)
    return Detections.build(boxes, scores[keep][order])


class PlatedetDetector:
    """YOLOv8s-seg plate detector (platedet weights) through a ``Runner``."""

    def __init__(self, runner: Runner, config: PlateDetectorConfig) -> None:
        self.runner = runner
        self.config = config
        self._input = runner.input_names[0]
        float16 = runner.session.get_inputs()[0].type == "tensor(float16)"
        self._dtype: type[np.floating[Any]] = np.float16 if float16 else np.float32  # the int8 build takes float32

    def detect(self, image_bgr: NDArray[np.uint8]) -> Detections:
        """(H, W, 3) BGR image in, plate ``Detections`` out."""
        tensor, box = platedet_preprocess(image_bgr, self.config.input_size)
        output = self.runner.run({self._input: tensor.astype(self._dtype, copy=False)})[0]
        height, width = image_bgr.shape[:2]
        return platedet_decode(output, self.config, box, (width, height))


class CascadeDetector:
    """OpenCV Haar cascade for plates; every hit gets ``cascade_confidence``."""

    def __init__(self, cascade_path: Path, config: PlateDetectorConfig) -> None:
        self.config = config
        self.cascade = cv2.CascadeClassifier(str(cascade_path))
        if self.cascade.empty():
            raise ModelError(f"OpenCV could not load the plate cascade {cascade_path}")

    def detect(self, image_bgr: NDArray[np.uint8]) -> Detections:
        """(H, W, 3) BGR image in, plate ``Detections`` out."""
        grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY) if image_bgr.ndim == 3 else image_bgr
        found = self.cascade.detectMultiScale(
            grey,
            scaleFactor=self.config.cascade_scale_factor,
            minNeighbors=self.config.cascade_min_neighbors,
            minSize=(self.config.cascade_min_size * 3, self.config.cascade_min_size),
        )
        rects = np.asarray(found, np.float32).reshape(-1, 4)[: self.config.max_plates]
        centre = rects[:, :2] + rects[:, 2:] / 2.0
        half = rects[:, 2:] * np.asarray(self.config.cascade_box_scale, np.float32) / 2.0
        xyxy = np.concatenate([centre - half, centre + half], axis=1)
        return Detections.build(xyxy, np.full(len(xyxy), self.config.cascade_confidence, np.float32))


def _build_platedet(config: PlateDetectorConfig) -> PlateDetector:
    """platedet (float16 as packaged, or the ``kuzet quantize`` int8 build), its graph rewritten to
    ``config.input_size`` when that is not the exported 640 (``models.yolo_graph.at_input_size``)."""
    path = config.model_path or package_file(PLATEDET_PACKAGE, PLATEDET_FILE)
    if config.precision == "int8":
        if config.model_path is not None:
            raise ModelError("platedet: precision int8 exists for the packaged weights only")
        path = int8_model_path("platedet", path, config.int8_dir)
    model: Path | bytes = path
    if config.input_size != yolo_graph.BASE_SIZE:
        model = yolo_graph.at_input_size(onnx.load(str(path)), config.input_size).SerializeToString()
    name = f"platedet {config.precision} {config.input_size}"
    runner = Runner(model, config.runner, inputs=["images"], outputs=["output0"], name=name)
    return PlatedetDetector(runner, config)


def _build_cascade(config: PlateDetectorConfig) -> PlateDetector:
    if config.model_path is not None:
        return CascadeDetector(config.model_path, config)
    haar_folder: str = cv2.data.haarcascades  # type: ignore[attr-defined]
    path = Path(haar_folder) / CASCADE_FILE
    return CascadeDetector(path, config)


PlateDetectorFactory = Callable[[PlateDetectorConfig], PlateDetector]

PLATE_DETECTORS: dict[str, PlateDetectorFactory] = {
    "platedet": _build_platedet,
    "cascade": _build_cascade,
}


def build_plate_detector(config: PlateDetectorConfig | None = None) -> PlateDetector:
    """The configured backend, ready to ``detect``."""
    config = config or PlateDetectorConfig()
    return PLATE_DETECTORS[config.backend](config)


def merge_detections(parts: list[Detections], iou: float) -> Detections:
    """Union of several detectors' plates, overlapping boxes merged by NMS (best score kept)."""
    merged = Detections.concat(parts)
    if len(merged) == 0:
        return merged
    return merged[nms(merged.xyxy, merged.confidence, iou)]


def expand_boxes(xyxy: NDArray[np.float32], margin: float, width: int, height: int) -> NDArray[np.int32]:
    """(N, 4) boxes grown by ``margin`` of their size on each side, clipped, as integer pixel bounds."""
    boxes = np.asarray(xyxy, np.float32).reshape(-1, 4)
    size = boxes[:, 2:] - boxes[:, :2]
    grown = np.concatenate([boxes[:, :2] - size * margin, boxes[:, 2:] + size * margin], axis=1)
    return np.round(clip_boxes(grown, width, height)).astype(np.int32)
