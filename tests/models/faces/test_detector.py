"""The face detector backends on real photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.faces.base import FaceDetector
from models.faces.centerface import centerface_preprocess
from tests.conftest import require_data
from tests.models.faces.conftest import load_sample

SAMPLE_FACES = [("obama_small.jpg", 1), ("obama-240p.jpg", 1), ("kit_with_rose.jpg", 2), ("rose_leslie.jpg", 1)]


def _check(faces, image, expected: int) -> None:
    assert len(faces) == expected
    lm = faces.data["landmarks"]
    assert lm.shape == (expected, 5, 2) and lm.dtype == np.float32
    x1, y1, x2, y2 = (faces.xyxy[:, i, None] for i in range(4))
    slack = 0.1 * (x2 - x1)
    assert ((lm[..., 0] >= x1 - slack) & (lm[..., 0] <= x2 + slack)).all()
    assert ((lm[..., 1] >= y1 - slack) & (lm[..., 1] <= y2 + slack)).all()
    # left eye left of right eye, eyes above the mouth corners (upright photos)
    assert (lm[:, 0, 0] < lm[:, 1, 0]).all() and (lm[:, :2, 1].max(1) < lm[:, 3:, 1].min(1)).all()
    assert ((faces.confidence > 0.5) & (faces.confidence <= 1.0)).all()
    h, w = image.shape[:2]
    assert (faces.xyxy >= 0).all() and (faces.xyxy[:, [0, 2]] <= w).all() and (faces.xyxy[:, [1, 3]] <= h).all()


@pytest.mark.parametrize(("name", "expected"), SAMPLE_FACES)
def test_centerface_finds_sample_faces(centerface: FaceDetector, name: str, expected: int) -> None:
    image = load_sample(name)
    _check(centerface.detect(image), image, expected)


@pytest.mark.parametrize(("name", "expected"), SAMPLE_FACES[:3])
def test_mtcnn_finds_sample_faces(mtcnn: FaceDetector, name: str, expected: int) -> None:
    image = load_sample(name)
    _check(mtcnn.detect(image), image, expected)


@pytest.mark.parametrize("backend", ["centerface", "mtcnn"])
@pytest.mark.parametrize(
    "image",
    [np.zeros((480, 640, 3), np.uint8), np.full((64, 64, 3), 255, np.uint8), np.zeros((0, 0, 3), np.uint8)],
    ids=["black", "white-small", "zero-size"],
)
def test_no_face_gives_empty_detections(request: pytest.FixtureRequest, backend: str, image: np.ndarray) -> None:
    detector: FaceDetector = request.getfixturevalue(backend)
    faces = detector.detect(image)
    assert len(faces) == 0 and faces.data["landmarks"].shape == (0, 5, 2)


@pytest.mark.parametrize("name", ["obama-480p.jpg", "obama_and_biden.jpg", "two_people.jpg"])
def test_centerface_on_shared_probes(centerface: FaceDetector, name: str) -> None:
    image = cv2.imread(str(require_data("faces/probes") / name))
    expected = {"obama-480p.jpg": 1, "obama_and_biden.jpg": 2, "two_people.jpg": 2}[name]
    faces = centerface.detect(image)
    assert len(faces) >= expected
    assert faces.confidence.max() > 0.8


def test_small_grey_image_found_through_upscale(centerface: FaceDetector) -> None:
    orl = require_data("faces/orl")
    image = cv2.imread(str(orl / "s1" / "1.pgm"), cv2.IMREAD_GRAYSCALE)
    faces = centerface.detect(image)
    assert len(faces) == 1
    assert faces.area[0] > 0.3 * image.shape[0] * image.shape[1]


@pytest.mark.parametrize(
    ("shape", "max_side", "tensor_hw"), [((112, 92), 640, (128, 96)), ((720, 1280), 640, (384, 640))]
)
def test_centerface_preprocess_pads_to_32(shape: tuple[int, int], max_side: int, tensor_hw: tuple[int, int]) -> None:
    tensor, resize = centerface_preprocess(np.zeros((*shape, 3), np.uint8), max_side)
    assert tensor.shape == (1, 3, *tensor_hw)
    assert resize.width == shape[1] and resize.height == shape[0]
