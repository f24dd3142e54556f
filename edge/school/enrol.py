"""Enrolment: photos in, templates (and one small thumbnail) out; bad photos refused with a reason each.

The photos themselves are never stored: only the L2-normalised embeddings and a 96-px face thumbnail for the
staff who check the gallery.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.school.gallery import Gallery
from edge.school.pipeline import crop_face
from models.detections import Detections
from models.faces.config import EnrolmentConfig
from models.faces.detector import FaceDetector
from models.faces.embedder import Embedder
from models.faces.quality import check_enrolment_photo

logger = logging.getLogger(__name__)

THUMBNAIL_PX = 96


@dataclass(frozen=True, slots=True)
class PhotoVerdict:
    """What happened to one enrolment photo."""

    photo: str
    accepted: bool
    message: str


def thumbnail(image: NDArray[np.uint8], face_crop_margin: float, faces: Detections) -> bytes:
    """A small JPEG of the face (at most ``THUMBNAIL_PX`` a side)."""
    crop, _ = crop_face(image, faces, face_crop_margin)
    scale = min(1.0, THUMBNAIL_PX / max(crop.shape[:2]))
    small = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))))
    ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise ValueError("JPEG encoding of the thumbnail failed")
    return bytes(buf.tobytes())


def enrol_photos(
    gallery: Gallery,
    pupil_id: str,
    name: str | None,
    photos: Sequence[Path],
    detector: FaceDetector,
    embedder: Embedder,
    config: EnrolmentConfig | None = None,
) -> list[PhotoVerdict]:
    """Check each photo, embed the accepted ones and replace the pupil's templates in ``gallery``.

    Returns:
        One verdict per photo, in order. The gallery changes only when at least one photo was accepted.
    """
    verdicts: list[PhotoVerdict] = []
    vectors: list[NDArray[np.float32]] = []
    thumb: bytes | None = None
    for photo in photos:
        raw = cv2.imread(str(photo), cv2.IMREAD_COLOR)
        if raw is None:
            verdicts.append(PhotoVerdict(str(photo), False, "not a readable image"))
            continue
        image: NDArray[np.uint8] = np.asarray(raw, np.uint8)
        check = check_enrolment_photo(image, detector, config)
        if not check.ok:
            verdicts.append(PhotoVerdict(str(photo), False, check.reason or "refused"))
            continue
        vectors.append(embedder.embed(image, check.face))
        thumb = thumb or thumbnail(image, 0.3, check.face)
        verdicts.append(PhotoVerdict(str(photo), True, "accepted"))
    if vectors:
        gallery.add(pupil_id, np.concatenate(vectors), name=name)
        if thumb is not None:
            gallery.thumbnails[pupil_id] = thumb
        logger.info("enrolled %s with %d templates", pupil_id, len(vectors))
    return verdicts
