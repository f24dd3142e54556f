"""Enrolment photo checks and per-face quality measures."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.detections import Detections
from models.faces.align import TEMPLATE_112, align_faces, frontalness, similarity_transform
from models.faces.base import FaceDetector
from models.faces.config import EnrolmentConfig
from models.faces.quality import check_enrolment_photo, face_quality
from tests.models.faces.conftest import load_sample


def _blur(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image, (21, 21), 0)


@pytest.mark.parametrize(
    ("name", "transform", "ok", "reason_word"),
    [
        ("obama_small.jpg", None, True, None),
        ("rose_leslie.jpg", None, True, None),
        ("kit_with_rose.jpg", None, False, "2 faces"),
        ("obama-240p.jpg", None, False, "too small"),
        ("obama_small.jpg", _blur, False, "blurry"),
        ("obama_small.jpg", np.zeros_like, False, "no face"),
    ],
)
def test_check_enrolment_photo(centerface: FaceDetector, name, transform, ok: bool, reason_word) -> None:
    image = load_sample(name)
    image = transform(image) if transform else image
    verdict = check_enrolment_photo(image, centerface, EnrolmentConfig())
    assert verdict.ok is ok
    if ok:
        assert verdict.reason is None and len(verdict.face) == 1
    else:
        assert reason_word in verdict.reason


def test_face_quality_columns(centerface: FaceDetector) -> None:
    image = load_sample("kit_with_rose.jpg")
    faces = centerface.detect(image)
    quality = face_quality(image, faces)
    assert set(quality) == {"size", "sharpness", "frontalness"}
    assert all(v.shape == (2,) for v in quality.values())
    sharp, blurred = quality["sharpness"], face_quality(_blur(image), faces)["sharpness"]
    assert (blurred < sharp / 4).all()


@pytest.mark.parametrize(
    ("landmarks", "low", "high"),
    [
        (TEMPLATE_112, 0.9, 1.0),  # the frontal template
        (TEMPLATE_112 + np.array([[0, 0], [0, 0], [14, 0], [0, 0], [0, 0]], np.float32), 0.0, 0.4),  # nose turned
    ],
)
def test_frontalness(landmarks: np.ndarray, low: float, high: float) -> None:
    score = float(frontalness(landmarks[None])[0])
    assert low <= score <= high


def test_similarity_transform_recovers_a_known_warp() -> None:
    angle, scale, shift = np.deg2rad(20), 1.7, np.array([30.0, -12.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = TEMPLATE_112 @ rot.T + shift
    matrix = similarity_transform(moved, TEMPLATE_112)
    back = moved @ matrix[:, :2].T + matrix[:, 2]
    np.testing.assert_allclose(back, TEMPLATE_112, atol=1e-3)


def test_align_faces_puts_eyes_on_the_template(centerface: FaceDetector) -> None:
    image = load_sample("obama_small.jpg")
    faces = centerface.detect(image)
    chips = align_faces(image, faces.data["landmarks"], size=112)
    assert chips.shape == (1, 112, 112, 3)
    again = centerface.detect(cv2.copyMakeBorder(chips[0], 40, 40, 40, 40, cv2.BORDER_CONSTANT))
    assert len(again) == 1
    eyes = again.data["landmarks"][0, :2] - 40
    assert np.abs(eyes - TEMPLATE_112[:2]).max() < 8


def test_empty_detections_quality() -> None:
    quality = face_quality(np.zeros((10, 10, 3), np.uint8), Detections.empty(landmarks=(5, 2)))
    assert all(v.shape == (0,) for v in quality.values())


def test_crop_light_measures_exposure_contrast_and_detail() -> None:
    from models.faces.quality import crop_light

    crop = load_sample("obama_small.jpg")[40:200, 100:240]
    dark = (crop // 8).astype(np.uint8)
    light = crop_light([crop, dark, _blur(crop), np.zeros((0, 0, 3), np.uint8)])
    assert light["size"].tolist() == [140, 140, 140, 0]
    assert light["brightness"][1] < light["brightness"][0] / 6 and light["contrast"][1] < light["contrast"][0] / 6
    assert light["detail"][2] < light["detail"][0] / 3  # blur removes detail ...
    assert light["detail"][1] == pytest.approx(light["detail"][0], rel=0.5)  # ... darkness alone does not
    assert light["brightness"][3] == light["contrast"][3] == light["detail"][3] == 0.0
