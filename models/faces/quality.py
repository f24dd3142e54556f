"""Per-face quality measures (size, sharpness, frontalness; light and detail of a crop) and the enrolment photo
check."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from models.detections import Detections
from models.faces.align import frontalness
from models.faces.base import FaceDetector, empty_faces
from models.faces.config import EnrolmentConfig
from models.image import as_bgr


def sharpness(image_bgr: NDArray[np.uint8], faces: Detections, size: int = 64) -> NDArray[np.float32]:
    """(N,) variance of the Laplacian of each grey face crop resized to ``size`` x ``size`` (so it is comparable
    across face sizes)."""
    grey = cv2.cvtColor(as_bgr(image_bgr), cv2.COLOR_BGR2GRAY)
    out = np.zeros(len(faces), np.float32)
    for i, (x1, y1, x2, y2) in enumerate(np.rint(faces.xyxy).astype(int).tolist()):  # one crop per face
        crop = grey[max(y1, 0) : y2, max(x1, 0) : x2]
        if crop.size:
            resized = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
            out[i] = float(cv2.Laplacian(resized, cv2.CV_64F).var())
    return out


def face_quality(image_bgr: NDArray[np.uint8], faces: Detections, size: int = 64) -> dict[str, NDArray[np.float32]]:
    """Quality columns for N faces.

    Returns:
        ``size`` (N,) short box side in px, ``sharpness`` (N,) Laplacian variance of the grey crop,
        ``frontalness`` (N,) in [0, 1] from the landmarks (0.5 when there are none).
    """
    wh = faces.xyxy[:, 2:] - faces.xyxy[:, :2]
    front = frontalness(faces.data["landmarks"]) if "landmarks" in faces.data else np.full(len(faces), 0.5, np.float32)
    return {
        "size": wh.min(axis=1).astype(np.float32),
        "sharpness": sharpness(image_bgr, faces, size),
        "frontalness": front,
    }


def crop_light(crops: list[NDArray[np.uint8]], size: int = 32) -> dict[str, NDArray[np.float32]]:
    """Light and detail of N face crops (BGR or grey, any size), to tell whether a face can be judged at all.

    Returns:
        ``size`` (N,) short side in px; ``brightness`` (N,) mean grey level 0-255; ``contrast`` (N,) grey-level
        standard deviation; ``detail`` (N,) variance of the Laplacian over the grey variance of the crop resized to
        ``size`` x ``size`` (independent of exposure and contrast: a blurred face has little, ~0.01, a sharp one
        0.1-1.5). An empty crop gives zeros.
    """
    out = {k: np.zeros(len(crops), np.float32) for k in ("size", "brightness", "contrast", "detail")}
    for i, crop in enumerate(crops):  # one small OpenCV conversion per crop
        if crop.size == 0:
            continue
        grey = cv2.cvtColor(as_bgr(crop), cv2.COLOR_BGR2GRAY)
        small = cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
        out["size"][i] = min(grey.shape[:2])
        out["brightness"][i] = float(grey.mean())
        out["contrast"][i] = float(grey.std())
        out["detail"][i] = float(cv2.Laplacian(small, cv2.CV_32F).var()) / max(float(small.var()), 1.0)
    return out


@dataclass(frozen=True, slots=True)
class EnrolmentCheck:
    """Verdict on one enrolment photo: ``ok`` with the one face, or a reason a person can act on."""

    ok: bool
    reason: str | None
    face: Detections


def check_enrolment_photo(
    image_bgr: NDArray[np.uint8], detector: FaceDetector, config: EnrolmentConfig | None = None
) -> EnrolmentCheck:
    """Accept a photo only with exactly one face that is large, sharp and frontal enough."""
    config = config or EnrolmentConfig()
    faces = detector.detect(image_bgr)
    if len(faces) == 0:
        return EnrolmentCheck(False, "no face found: take a photo facing the camera, face fully visible", faces)
    if len(faces) > 1:
        return EnrolmentCheck(
            False, f"{len(faces)} faces found: the photo must show only the pupil, crop or retake it", empty_faces()
        )
    quality = face_quality(image_bgr, faces, config.quality_size_px)
    size, sharp, front = (float(quality[k][0]) for k in ("size", "sharpness", "frontalness"))
    if size < config.min_face_px:
        return EnrolmentCheck(
            False,
            f"face too small ({size:.0f} px, need {config.min_face_px}): move closer or use a larger photo",
            faces,
        )
    if sharp < config.min_sharpness:
        return EnrolmentCheck(
            False, f"photo too blurry (sharpness {sharp:.0f}, need {config.min_sharpness:.0f}): hold still", faces
        )
    if front < config.min_frontalness:
        return EnrolmentCheck(False, f"face turned away (frontalness {front:.2f}): look straight at the camera", faces)
    return EnrolmentCheck(True, None, faces)
