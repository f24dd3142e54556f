"""Synthetic face masks pasted from the five face landmarks (``kuzet eval faces --masked-probes``, masked enrolment).

The contract (../shared/EVAL.md, ``--masked-probes``): the mask is placed from the face's landmarks, not its box: a
polygon from ear to ear along the jaw, closed over the nose a third of the way down from the bridge, covering the
nose tip, the mouth and the chin and never the eyes; a flat light blue, white, grey or black fill with a soft edge,
the colour chosen per image by a fixed seed.

CenterFace gives five points (eyes, nose tip, mouth corners) and a box; the jaw is derived geometrically in the
face's own frame, so roll is followed:

- origin ``e`` = the midpoint of the eyes (the nasal bridge); ``x`` along the eye line, ``y`` perpendicular to it,
  pointing to the mouth; ``D`` = the eye distance, ``d`` = the eye-line-to-mouth distance (mouth-corner midpoint);
- top of the mask: ``e + (nose - e) / 3``, a third of the way from the bridge to the nose tip;
- the upper edge runs from there down and out under each eye, level at ``y = max(top + 0.25 d, 0.35 d)`` from
  ``0.15 D`` inside the eye to ``0.35 D`` outside it (always at least ``EYE_CLEARANCE`` d below the eye line), then
  to the ear at ``y = 0.5 d``;
- ear points: where the face box's side meets that height, kept within ``[0.85, 1.25] D`` of the nose (so a loose or
  clipped box cannot move the mask far from the face), on each side separately (a turned head is narrower on one
  side);
- chin: ``CHIN_BELOW_MOUTH`` d below the mouth (``y = 1 + 0.55 d``), not below the box bottom plus ``0.1 d``;
- the jaw: a quarter ellipse from each ear point down to the chin, ``JAW_POINTS`` points per side.

The fill is one flat colour; its alpha is the polygon blurred by a Gaussian of ``SOFT_EDGE`` x D (a soft edge).
"""

from __future__ import annotations

import zlib
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

# BGR fills: light blue (surgical), white, grey, black.
MASK_COLOURS: dict[str, tuple[int, int, int]] = {
    "light_blue": (230, 205, 160),
    "white": (242, 242, 242),
    "grey": (140, 140, 140),
    "black": (30, 30, 30),
}
TOP_FRACTION = 1.0 / 3.0  # top of the mask: this far from the bridge (eye midpoint) to the nose tip
EYE_CLEARANCE = 0.35  # the upper edge under the eyes lies at least this many eye-to-mouth distances below them
UNDER_EYE_DROP = 0.25  # ... and this much below the top of the mask
EAR_Y = 0.5  # ear points' height (eye-to-mouth distances below the eye line)
EAR_MIN, EAR_MAX = 0.85, 1.25  # ear distance from the nose along the eye line, in eye distances
CHIN_BELOW_MOUTH = 0.55  # chin: this many eye-to-mouth distances below the mouth
JAW_POINTS = 9  # points per side on the jaw's quarter ellipse
SOFT_EDGE = 0.04  # Gaussian sigma of the edge, in eye distances


def _frame(landmarks: NDArray[Any]) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], float]:
    """(origin, x axis, y axis, eye distance) of the face frame."""
    lm = np.asarray(landmarks, np.float64).reshape(5, 2)
    origin = (lm[0] + lm[1]) / 2.0
    eye_vec = lm[1] - lm[0]
    eye_dist = float(np.linalg.norm(eye_vec))
    if eye_dist < 1e-6:
        raise ValueError("the two eye landmarks coincide: no face frame")
    x_axis = eye_vec / eye_dist
    y_axis = np.array([-x_axis[1], x_axis[0]])  # x rotated by +90 degrees: down the face in image coordinates
    return origin, x_axis, y_axis, eye_dist


def mask_polygon(landmarks: NDArray[Any], box: NDArray[Any]) -> NDArray[np.float32]:
    """The mask outline of one face, from its five landmarks and its box (method in the module docstring).

    Args:
        landmarks: (5, 2) image pixels: left eye, right eye, nose tip, left and right mouth corner.
        box: (4,) face box x1, y1, x2, y2 (used only for the ear width and to bound the chin).

    Returns:
        (K, 2) float32 polygon in image pixels, clockwise on screen, starting at the top over the nose.
    """
    lm = np.asarray(landmarks, np.float64).reshape(5, 2)
    origin, ax, ay, eye_dist = _frame(lm)

    def local(points: NDArray[Any]) -> NDArray[np.float64]:
        rel = np.asarray(points, np.float64).reshape(-1, 2) - origin
        return np.stack([rel @ ax, rel @ ay], axis=1)

    pts = local(lm)
    nose, mouth = pts[2], (pts[3] + pts[4]) / 2.0
    d = max(float(mouth[1]), 0.3 * eye_dist)  # eye-line-to-mouth distance (guarded for degenerate landmarks)
    top = nose * TOP_FRACTION  # a third of the way from the bridge (origin) to the nose tip
    under_eye_y = max(top[1] + UNDER_EYE_DROP * d, EYE_CLEARANCE * d)
    ear_y = max(EAR_Y * d, under_eye_y)
    x1, y1, x2, y2 = np.asarray(box, np.float64).reshape(4)
    box_side = local(np.array([[x1, (y1 + y2) / 2.0], [x2, (y1 + y2) / 2.0]]))[:, 0]
    left = np.clip(nose[0] - box_side.min(), EAR_MIN * eye_dist, EAR_MAX * eye_dist)
    right = np.clip(box_side.max() - nose[0], EAR_MIN * eye_dist, EAR_MAX * eye_dist)
    chin_y = mouth[1] + CHIN_BELOW_MOUTH * d
    box_bottom = float(local(np.array([[(x1 + x2) / 2.0, y2]]))[0, 1])
    chin_y = min(chin_y, max(box_bottom + 0.1 * d, mouth[1] + 0.3 * d))
    centre_x = (nose[0] + mouth[0]) / 2.0
    theta = np.linspace(0.0, np.pi / 2.0, JAW_POINTS)
    right_jaw = np.stack(
        [centre_x + (nose[0] + right - centre_x) * np.cos(theta), ear_y + (chin_y - ear_y) * np.sin(theta)], 1
    )
    left_jaw = np.stack(
        [centre_x - (centre_x - (nose[0] - left)) * np.cos(theta), ear_y + (chin_y - ear_y) * np.sin(theta)], 1
    )[::-1]
    upper_right = [[pts[1][0] + 0.35 * eye_dist, under_eye_y], [pts[1][0] - 0.15 * eye_dist, under_eye_y]]
    upper_left = [[pts[0][0] + 0.15 * eye_dist, under_eye_y], [pts[0][0] - 0.35 * eye_dist, under_eye_y]]
    outline = np.concatenate(
        [[top], np.array(upper_right[::-1]), right_jaw, left_jaw[1:], np.array(upper_left[::-1])], axis=0
    )
    image_pts = origin + outline[:, :1] * ax + outline[:, 1:] * ay
    return np.asarray(image_pts, np.float32)


def mask_alpha(shape: tuple[int, int], polygon: NDArray[Any], eye_dist: float) -> NDArray[np.float32]:
    """(H, W) alpha in [0, 1]: the filled polygon with a Gaussian soft edge of ``SOFT_EDGE`` x ``eye_dist``."""
    scale = 4  # fill at 1/4 pixel precision (small faces: ORL eyes are ~30 px apart)
    hard = np.zeros(shape, np.uint8)
    cv2.fillPoly(hard, [np.rint(np.asarray(polygon) * scale).astype(np.int32)], 255, cv2.LINE_AA, shift=2)
    sigma = max(SOFT_EDGE * eye_dist, 0.5)
    soft = cv2.GaussianBlur(hard.astype(np.float32) / 255.0, (0, 0), sigma)
    return np.asarray(np.clip(soft, 0.0, 1.0), np.float32)


def choose_colour(seed: int, key: str = "") -> str:
    """The fill's name for one image: a fixed function of ``seed`` and the image's ``key`` (e.g. its file name)."""
    names = sorted(MASK_COLOURS)
    rng = np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(key.encode("utf-8"))])
    return names[int(rng.integers(len(names)))]


def paste_mask(
    image_bgr: NDArray[np.uint8], landmarks: NDArray[Any], box: NDArray[Any], colour: str
) -> NDArray[np.uint8]:
    """A copy of the image with a synthetic mask on one face.

    Args:
        image_bgr: (H, W, 3) uint8 BGR (a (H, W) grey image is returned as BGR).
        landmarks: (5, 2) landmarks of the face, image pixels.
        box: (4,) face box x1, y1, x2, y2.
        colour: a key of ``MASK_COLOURS``.

    Returns:
        (H, W, 3) uint8 BGR image.
    """
    image = cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR) if image_bgr.ndim == 2 else image_bgr
    polygon = mask_polygon(landmarks, box)
    eye_dist = float(np.linalg.norm(np.asarray(landmarks, np.float64).reshape(5, 2)[1] - landmarks[0]))
    alpha = mask_alpha(image.shape[:2], polygon, eye_dist)[..., None]
    fill = np.asarray(MASK_COLOURS[colour], np.float32)
    out = image.astype(np.float32) * (1.0 - alpha) + fill * alpha
    return np.asarray(np.clip(np.rint(out), 0, 255), np.uint8)


def paste_masks(
    image_bgr: NDArray[np.uint8], landmarks: NDArray[Any], boxes: NDArray[Any], seed: int, key: str = ""
) -> tuple[NDArray[np.uint8], str]:
    """Masks on every face of an image, all in the colour ``choose_colour(seed, key)`` picks for it.

    Args:
        image_bgr: (H, W, 3) uint8 BGR image.
        landmarks: (N, 5, 2) landmarks.
        boxes: (N, 4) face boxes.
        seed: the run's fixed seed.
        key: names the image (its file name), so each image gets its own colour.

    Returns:
        (masked image, colour name).
    """
    colour = choose_colour(seed, key)
    out = np.asarray(cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR) if image_bgr.ndim == 2 else image_bgr.copy(), np.uint8)
    for points, box in zip(np.asarray(landmarks).reshape(-1, 5, 2), np.asarray(boxes).reshape(-1, 4), strict=True):
        out = paste_mask(out, points, box, colour)
    return out, colour


__all__ = ["MASK_COLOURS", "choose_colour", "mask_alpha", "mask_polygon", "paste_mask", "paste_masks"]
