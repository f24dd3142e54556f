"""Vehicle detector: letterbox pre-processing, vectorised YOLOv8 decoding, the registry and the real model."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from models.geometry import Letterbox
from models.runtime import ModelError
from models.vehicles.detector import (
    COCO_NAMES,
    VehicleDetector,
    VehicleDetectorConfig,
    build_runner,
    build_vehicle_detector,
)
from models.vehicles.postprocess import DecodeParams, decode_yolov8
from models.vehicles.preprocess import preprocess

CAR, MOTORCYCLE, BUS, TRUCK, LIGHT, PERSON = 2, 3, 5, 7, 9, 0


@pytest.fixture(scope="module")
def detector() -> VehicleDetector:
    config = VehicleDetectorConfig()
    return build_vehicle_detector(config)


@pytest.mark.parametrize(("height", "width"), [(352, 640), (432, 768), (480, 480), (720, 1280), (300, 200)])
def test_preprocess_shape_range_and_exact_box_mapping(height: int, width: int) -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    tensor, box = preprocess(image, (640, 640))
    assert tensor.shape == (1, 3, 640, 640) and tensor.dtype == np.float32
    assert tensor.min() >= 0.0 and tensor.max() <= 1.0
    # RGB order: the channel 0 of the tensor is the image's red (BGR index 2) at the letterboxed centre
    cy, cx = int(height / 2 * box.ratio + box.pad_y), int(width / 2 * box.ratio + box.pad_x)
    resized = cv2.resize(image, (round(width * box.ratio), round(height * box.ratio)))
    expected = resized[cy - int(box.pad_y), cx - int(box.pad_x)][::-1] / 255.0
    assert np.allclose(tensor[0, :, cy, cx], expected, atol=1e-6)
    original = np.array([[10.0, 20.0, width - 5.0, height - 7.0]])
    model_space = original * box.ratio + [box.pad_x, box.pad_y, box.pad_x, box.pad_y]
    assert np.allclose(box.to_image(model_space), original, atol=1e-3)


def _head(rows: list[tuple[float, float, float, float, int, float]], anchors: int = 8400) -> np.ndarray:
    """A (1, 84, anchors) YOLOv8 output with the given (cx, cy, w, h, class, score) anchors, zeros elsewhere."""
    head = np.zeros((1, 84, anchors), np.float32)
    for i, (cx, cy, w, h, cls, score) in enumerate(rows):
        head[0, :4, 100 + 37 * i] = (cx, cy, w, h)
        head[0, 4 + cls, 100 + 37 * i] = score
    return head


def _params(merge: bool = True, threshold: float = 0.25) -> DecodeParams:
    ids = np.array([CAR, MOTORCYCLE, BUS, TRUCK, LIGHT], np.int64)
    groups = np.where(np.isin(ids, [CAR, MOTORCYCLE, BUS, TRUCK]), CAR, ids) if merge else ids.copy()
    return DecodeParams(ids, groups, threshold, 0.5, 100)


@pytest.mark.parametrize(
    ("rows", "merge", "expected_classes"),
    [
        ([], True, []),
        ([(320, 320, 100, 60, CAR, 0.9)], True, [CAR]),
        ([(320, 320, 100, 60, PERSON, 0.9)], True, []),  # class filter
        ([(320, 320, 100, 60, CAR, 0.2)], True, []),  # below the score threshold
        ([(320, 320, 100, 60, CAR, 0.9), (322, 321, 100, 60, CAR, 0.8)], True, [CAR]),  # duplicate
        ([(320, 320, 100, 60, CAR, 0.9), (322, 321, 100, 60, TRUCK, 0.7)], True, [CAR]),  # car+truck double box
        ([(320, 320, 100, 60, CAR, 0.9), (322, 321, 100, 60, TRUCK, 0.7)], False, [CAR, TRUCK]),
        ([(320, 320, 100, 60, CAR, 0.9), (320, 320, 100, 60, LIGHT, 0.6)], True, [CAR, LIGHT]),  # never merged
        ([(100, 300, 50, 40, BUS, 0.5), (500, 300, 50, 40, MOTORCYCLE, 0.95)], True, [MOTORCYCLE, BUS]),
    ],
)
def test_decode_table(rows: list, merge: bool, expected_classes: list[int]) -> None:
    out = decode_yolov8(_head(rows), _params(merge), Letterbox(1.0, 0.0, 0.0), (640, 640))
    assert out.class_id.tolist() == expected_classes  # best score first
    assert np.all(np.diff(out.confidence) <= 0)


def test_decode_maps_boxes_back_to_the_original_frame() -> None:
    box = Letterbox(ratio=0.5, pad_x=0.0, pad_y=140.0)  # a 1280x720 frame in a 640x640 input
    out = decode_yolov8(_head([(320, 320, 100, 60, CAR, 0.9)]), _params(), box, (1280, 720))
    assert np.allclose(out.xyxy, [[540, 300, 740, 420]])
    clipped = decode_yolov8(_head([(630, 320, 100, 60, CAR, 0.9)]), _params(), box, (1280, 720))
    assert clipped.xyxy[0, 2] == 1280  # clipped to the frame


def test_registry_and_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="unknown detector backend"):
        build_runner(VehicleDetectorConfig(backend="nope"))
    with pytest.raises(ModelError, match="does not exist"):
        build_runner(VehicleDetectorConfig(model_path=tmp_path / "missing.onnx"))
    assert COCO_NAMES[CAR] == "car" and COCO_NAMES[LIGHT] == "traffic light" and len(COCO_NAMES) == 80


def test_unknown_class_is_refused(detector: VehicleDetector) -> None:
    with pytest.raises(ModelError, match="not in the model"):
        VehicleDetector(detector.runner, VehicleDetectorConfig(classes=("car", "spaceship")))


def test_real_model_finds_the_cars_of_the_sample_clip(detector: VehicleDetector, samples: Path) -> None:
    capture = cv2.VideoCapture(str(samples / "traffic" / "ozlu_vehicle_counting.mp4"))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 240)  # the white SUV near the counting line
    ok, frame = capture.read()
    capture.release()
    assert ok
    out = detector.detect(frame)
    cars = out[(out.class_id == CAR) & (out.confidence > 0.5)]
    assert len(cars) >= 1
    suv = cars[int(np.argmax(cars.area))]
    x1, y1, x2, y2 = suv.xyxy[0]
    assert 280 < x1 < 320 and 140 < y1 < 170 and 430 < x2 < 460 and 240 < y2 < 270
    assert set(out.class_id.tolist()) <= {CAR, MOTORCYCLE, BUS, TRUCK, LIGHT}
