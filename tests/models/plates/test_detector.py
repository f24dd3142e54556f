"""Plate detectors: the registry, the vectorised YOLOv8-seg decode, both backends on real photos."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from models.geometry import Letterbox, box_iou_batch
from models.plates.config import PlateDetectorConfig
from models.plates.detector import (
    PLATE_DETECTORS,
    build_plate_detector,
    expand_boxes,
    merge_detections,
    platedet_decode,
    platedet_preprocess,
)
from models.plates.pipeline import ScenePlateReader
from tests.conftest import require_data


def test_registry_names_both_backends() -> None:
    assert set(PLATE_DETECTORS) == {"platedet", "cascade"}


def test_decode_thresholds_nms_and_maps_back() -> None:
    out = np.zeros((1, 37, 5), np.float32)
    # two overlapping plates and one weak box; cx, cy, w, h in input pixels
    out[0, :5, 0] = [320, 320, 100, 20, 0.9]
    out[0, :5, 1] = [322, 321, 100, 20, 0.8]
    out[0, :5, 2] = [100, 100, 50, 10, 0.1]
    config = PlateDetectorConfig(score_threshold=0.25, nms_iou=0.5)
    found = platedet_decode(out, config, Letterbox(ratio=0.5, pad_x=0, pad_y=80), (1280, 960))
    assert len(found) == 1
    np.testing.assert_allclose(found.xyxy[0], [540, 460, 740, 500], atol=1e-3)
    assert found.confidence[0] == pytest.approx(0.9)


def test_preprocess_is_float16_nchw() -> None:
    tensor, box = platedet_preprocess(np.zeros((480, 640, 3), np.uint8), 640)
    assert tensor.shape == (1, 3, 640, 640) and tensor.dtype == np.float16
    assert box.pad_y == 80


def test_expand_and_merge() -> None:
    grown = expand_boxes(np.array([[10, 10, 110, 30]], np.float32), 0.1, 115, 100)
    assert grown.tolist() == [[0, 8, 115, 32]]
    from models.detections import Detections

    a = Detections.build(np.array([[0, 0, 10, 10]]), np.array([0.9]))
    b = Detections.build(np.array([[1, 0, 10, 10], [50, 50, 60, 60]]), np.array([0.5, 0.5]))
    assert len(merge_detections([a, b], 0.5)) == 2


@pytest.mark.parametrize(("backend", "minimum"), [("platedet", 9), ("cascade", 8)])
def test_backends_find_real_plates(backend: str, minimum: int) -> None:
    root = require_data("traffic/scenes/openalpr_eu")
    with (root / "labels.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))[:10]
    detector = build_plate_detector(PlateDetectorConfig(backend=backend))  # type: ignore[arg-type]
    hits = 0
    for row in rows:
        found = detector.detect(cv2.imread(str(root / row["image"])))
        truth = np.array([[float(row[k]) for k in ("x1", "y1", "x2", "y2")]], np.float32)
        hits += bool(len(found)) and float(box_iou_batch(found.xyxy, truth).max()) >= 0.5
    assert hits >= minimum


def test_scene_reader_reads_a_real_photo() -> None:
    root = require_data("traffic/scenes/openalpr_eu")
    with (root / "labels.csv").open(newline="") as handle:
        row = next(csv.DictReader(handle))
    scene = ScenePlateReader.build("platedet", "any")
    image = cv2.imread(str(root / row["image"]))
    box = tuple(float(row[k]) for k in ("x1", "y1", "x2", "y2"))
    text, found = scene.read_labelled(image, box)  # type: ignore[arg-type]
    assert found and text == row["plate"]
    plates = scene.read_image(image)
    assert any(p.read.text == row["plate"] for p in plates)


def test_scene_reader_from_config_and_bounds() -> None:
    from pydantic import ValidationError

    from models.plates.config import PlatesConfig

    scene = ScenePlateReader.from_config(PlatesConfig())
    assert len(scene.detectors) == 2
    image = np.full((400, 600, 3), 90, np.uint8)
    assert isinstance(scene.read_image(image), list)
    with pytest.raises(ValidationError):
        PlateDetectorConfig.model_validate({"cascade_box_scale": [0.0, 0.5]})
    with pytest.raises(ValidationError):
        PlatesConfig.model_validate({"colour": "red"})
