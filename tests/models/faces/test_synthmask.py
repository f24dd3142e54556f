"""Synthetic masks from the landmarks of real faces: the eyes are never covered, the nose tip, mouth and chin are,
and the colour is a fixed function of the seed and the image."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from models.detections import Detections
from models.faces.detector import FaceDetector
from models.faces.synthmask import MASK_COLOURS, choose_colour, mask_alpha, mask_polygon, paste_mask, paste_masks
from tests.conftest import require_data
from tests.models.faces.conftest import load_sample


def _rotated(image: NDArray[np.uint8], degrees: float) -> NDArray[np.uint8]:
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return np.asarray(cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE), np.uint8)


def _orl(name: str) -> NDArray[np.uint8]:
    image = cv2.imread(str(require_data("faces/orl") / name))
    assert image is not None
    return np.asarray(image, np.uint8)


IMAGES = {
    "obama_small": lambda: load_sample("obama_small.jpg"),
    "kit_with_rose": lambda: load_sample("kit_with_rose.jpg"),
    "rose_rolled_20": lambda: _rotated(load_sample("rose_leslie.jpg"), 20.0),
    "orl_s1_5": lambda: _orl("s1/5.pgm"),
    "orl_s7_8": lambda: _orl("s7/8.pgm"),
}


def _disk_max(alpha: NDArray[np.float32], centre: NDArray[np.float32], radius: float) -> float:
    yy, xx = np.mgrid[: alpha.shape[0], : alpha.shape[1]]
    inside = (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius**2
    return float(alpha[inside].max())


@pytest.mark.parametrize("name", list(IMAGES))
def test_mask_covers_nose_mouth_chin_and_never_the_eyes(name: str, centerface: FaceDetector) -> None:
    image = IMAGES[name]()
    faces = centerface.detect(image)
    assert len(faces) >= 1
    for row in range(len(faces)):
        lm, box = faces.data["landmarks"][row], faces.xyxy[row]
        eye_dist = float(np.linalg.norm(lm[1] - lm[0]))
        alpha = mask_alpha(image.shape[:2], mask_polygon(lm, box), eye_dist)
        for eye in lm[:2]:  # the eye and a disk of a seventh of the eye distance around it stay clear
            assert _disk_max(alpha, eye, eye_dist / 7) < 0.01, f"{name}: an eye is covered"
        mouth = (lm[3] + lm[4]) / 2
        chin = mouth + 0.3 * (mouth - (lm[0] + lm[1]) / 2)  # below the mouth, towards the chin
        for part, point in (("nose tip", lm[2]), ("left mouth", lm[3]), ("right mouth", lm[4]), ("chin", chin)):
            x, y = np.rint(point).astype(int)
            assert alpha[y, x] > 0.98, f"{name}: {part} not covered (alpha {alpha[y, x]:.2f})"


def test_pasted_pixels_are_the_colour_and_the_eyes_are_untouched(centerface: FaceDetector) -> None:
    image = load_sample("obama_small.jpg")
    face = centerface.detect(image)[0]
    lm = face.data["landmarks"][0]
    out = paste_mask(image, lm, face.xyxy[0], "light_blue")
    x, y = np.rint(lm[2]).astype(int)
    assert np.abs(out[y, x].astype(int) - np.array(MASK_COLOURS["light_blue"])).max() <= 1
    for ex, ey in np.rint(lm[:2]).astype(int):
        assert np.array_equal(out[ey - 3 : ey + 4, ex - 3 : ex + 4], image[ey - 3 : ey + 4, ex - 3 : ex + 4])
    assert np.array_equal(image, load_sample("obama_small.jpg"))  # the input is not changed


def test_colour_is_fixed_by_seed_and_image(centerface: FaceDetector) -> None:
    image = load_sample("kit_with_rose.jpg")
    faces: Detections = centerface.detect(image)
    first, colour = paste_masks(image, faces.data["landmarks"], faces.xyxy, 7, "s1/4.pgm")
    again, colour_again = paste_masks(image, faces.data["landmarks"], faces.xyxy, 7, "s1/4.pgm")
    assert colour == colour_again and np.array_equal(first, again)
    # Pinned: the choice must not depend on the process (no Python hash()), so a run is reproducible anywhere.
    assert [choose_colour(0, f"s1/{i}.pgm") for i in range(4, 8)] == PINNED
    chosen = {choose_colour(seed, f"id/{i}.jpg") for seed in (0, 1) for i in range(40)}
    assert chosen == set(MASK_COLOURS)  # every colour is used
    assert [choose_colour(1, f"s1/{i}.pgm") for i in range(4, 12)] != [
        choose_colour(2, f"s1/{i}.pgm") for i in range(4, 12)
    ]


PINNED = ["grey", "black", "white", "white"]
