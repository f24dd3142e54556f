"""Enrolment, the one loop for every caller: photos in, templates and one small thumbnail out, each bad photo
refused with a reason a person can act on.

Used by ``kuzet enroll`` and the door (``enrol_photos``: files into a local ``Gallery`` of the embedder's model) and
by the backend's ``POST .../pupils/{id}/photos`` (``enrol_images`` through ``backend.services.enrolment.FaceKit``).
The photos themselves are never stored: only the L2-normalised embeddings and one face thumbnail (at most
``THUMBNAIL_PX`` a side) for the staff who check the gallery; the door keeps it only when asked.
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

THUMBNAIL_PX = 96  # longest side of the kept face thumbnail
THUMBNAIL_MARGIN = 0.3  # context around the face box in the thumbnail, as a share of the box's longer side
ACCEPTED = "face enrolled"
UNREADABLE = "not a readable image: send a JPEG or PNG photo"


@dataclass(frozen=True, slots=True)
class PhotoVerdict:
    """What happened to one enrolment photo.

    Attributes:
        filename: the photo as the caller named it (an uploaded file name, or a path).
        accepted: whether a template was made from it.
        message: ``ACCEPTED``, or why not.
    """

    filename: str
    accepted: bool
    message: str


@dataclass(frozen=True, slots=True)
class EnrolmentResult:
    """What a set of photos gave.

    Attributes:
        embeddings: (M, D) float32 templates of the M accepted photos, in photo order.
        thumbnail_jpeg: a JPEG of the first accepted photo's face, or None when none was accepted.
        verdicts: one per photo, in order.
    """

    embeddings: NDArray[np.float32]
    thumbnail_jpeg: bytes | None
    verdicts: list[PhotoVerdict]


def decode_photo(data: bytes) -> NDArray[np.uint8] | None:
    """(H, W, 3) BGR pixels of an encoded photo (JPEG, PNG...), or None when it is not a readable image."""
    if not data:  # OpenCV asserts on an empty buffer instead of saying "not an image"
        return None
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if decoded is None else np.asarray(decoded, np.uint8)


def thumbnail(image: NDArray[np.uint8], face: Detections) -> bytes:
    """A small JPEG of the face: the box with ``THUMBNAIL_MARGIN`` around it, at most ``THUMBNAIL_PX`` a side.

    Args:
        image: (H, W, 3) BGR photo.
        face: one face (row 0 is used), xyxy pixels with landmarks.
    """
    crop, _ = crop_face(image, face, THUMBNAIL_MARGIN)
    scale = min(1.0, THUMBNAIL_PX / max(crop.shape[:2]))
    small = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))))
    ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise ValueError("JPEG encoding of the thumbnail failed")
    return bytes(buf.tobytes())


def enrol_images(
    photos: Sequence[tuple[str, bytes]],
    detector: FaceDetector,
    embedder: Embedder,
    config: EnrolmentConfig | None = None,
) -> EnrolmentResult:
    """Check each photo (one sharp, large enough, frontal face), embed the accepted ones, keep one thumbnail.

    Args:
        photos: (name, encoded bytes) per photo.
        detector: the face detector the check runs.
        embedder: the embedder making the templates.
        config: the enrolment check's thresholds (defaults when None).
    """
    vectors: list[NDArray[np.float32]] = []
    verdicts: list[PhotoVerdict] = []
    thumb: bytes | None = None
    for filename, data in photos:
        image = decode_photo(data)
        if image is None:
            verdicts.append(PhotoVerdict(filename, False, UNREADABLE))
            continue
        check = check_enrolment_photo(image, detector, config)
        if not check.ok:
            verdicts.append(PhotoVerdict(filename, False, check.reason or "refused"))
            continue
        vectors.append(embedder.embed(image, check.face)[0])
        thumb = thumb or thumbnail(image, check.face)
        verdicts.append(PhotoVerdict(filename, True, ACCEPTED))
    embeddings = np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, embedder.dim), np.float32)
    return EnrolmentResult(embeddings, thumb, verdicts)


def enrol_photos(
    gallery: Gallery,
    pupil_id: str,
    name: str | None,
    photos: Sequence[Path],
    detector: FaceDetector,
    embedder: Embedder,
    config: EnrolmentConfig | None = None,
    keep_thumbnail: bool = False,
) -> list[PhotoVerdict]:
    """Enrol photo files into a local gallery: ``enrol_images``, then replace the pupil's templates.

    Args:
        keep_thumbnail: also keep the face thumbnail in the gallery (off by default: templates and names only).

    Returns:
        One verdict per photo, in order. The gallery changes only when at least one photo was accepted.

    Raises:
        ValueError: the gallery holds another embedder's templates (a gallery never mixes models).
    """
    if gallery.model != embedder.model:
        raise ValueError(
            f"gallery holds {gallery.model} templates, the embedder is {embedder.model}: re-enrol into a new gallery"
        )
    result = enrol_images([(str(p), p.read_bytes()) for p in photos], detector, embedder, config)
    if len(result.embeddings):
        gallery.add(pupil_id, result.embeddings, name=name)
        if keep_thumbnail and result.thumbnail_jpeg is not None:
            gallery.thumbnails[pupil_id] = result.thumbnail_jpeg
        logger.info("enrolled %s with %d templates", pupil_id, len(result.embeddings))
    return result.verdicts
