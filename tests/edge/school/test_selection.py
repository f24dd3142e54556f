"""Best-frame selection: the quality score ranks frames; crops keep the face and its landmarks aligned."""

from __future__ import annotations

import numpy as np
import pytest

from edge.school.config import SelectionConfig
from edge.school.pipeline import crop_face, quality_score
from models.detections import Detections

CONFIG = SelectionConfig(size_ref_px=80.0, sharpness_ref=100.0, min_face_px=20.0)


@pytest.mark.parametrize(
    ("size", "sharpness", "frontal", "expected"),
    [
        (120.0, 500.0, 1.0, 1.0),  # big, sharp, frontal: saturates at 1
        (40.0, 500.0, 1.0, 0.5),  # half the reference size
        (120.0, 50.0, 1.0, 0.5),  # half the reference sharpness
        (120.0, 500.0, 0.0, 0.25),  # profile: ranked low but still kept
        (19.0, 500.0, 1.0, 0.0),  # below the minimum size: never embedded
    ],
)
def test_quality_score(size: float, sharpness: float, frontal: float, expected: float) -> None:
    quality = {
        "size": np.array([size], np.float32),
        "sharpness": np.array([sharpness], np.float32),
        "frontalness": np.array([frontal], np.float32),
    }
    assert quality_score(quality, CONFIG)[0] == pytest.approx(expected, abs=1e-6)


def test_quality_ranks_a_batch_vectorised() -> None:
    quality = {
        "size": np.array([30.0, 90.0, 60.0], np.float32),
        "sharpness": np.array([200.0, 200.0, 20.0], np.float32),
        "frontalness": np.array([0.9, 0.8, 1.0], np.float32),
    }
    assert np.argsort(-quality_score(quality, CONFIG)).tolist() == [1, 0, 2]


@pytest.mark.parametrize(
    ("box", "expected_crop"),
    [
        ((100.0, 100.0, 150.0, 160.0), (64, 64, 186, 196)),  # margin 0.6 x 60 px = 36 px each side
        ((0.0, 10.0, 40.0, 50.0), (0, 0, 64, 74)),  # clipped at the image border
    ],
)
def test_crop_face_moves_box_and_landmarks(
    box: tuple[float, float, float, float], expected_crop: tuple[int, int, int, int]
) -> None:
    image = np.arange(300 * 400 * 3, dtype=np.uint32).astype(np.uint8).reshape(300, 400, 3)
    landmarks = np.array([[[box[0] + 10, box[1] + 20]] * 5], np.float32)
    face = Detections.build(np.array([box]), np.array([0.9]), data={"landmarks": landmarks})
    crop, moved = crop_face(image, face, 0.6)
    x1, y1, x2, y2 = expected_crop
    np.testing.assert_array_equal(crop, image[y1:y2, x1:x2])
    np.testing.assert_allclose(moved.xyxy[0], np.array(box) - [x1, y1, x1, y1])
    np.testing.assert_allclose(moved.data["landmarks"][0, 0], [box[0] + 10 - x1, box[1] + 20 - y1])
