"""Enrolment photos -> face templates: the models' enrolment check per photo, then embeddings and one thumbnail.

The uploaded photos are never stored: only the embeddings (encrypted by ``privacy.store_templates``) and one small
face thumbnail survive the request. The detector and embedder are built once per app, on the first enrolment.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from models.faces.config import EmbedderConfig, EnrolmentConfig, FaceDetectorConfig
from models.faces.detector import FaceDetector, build_face_detector
from models.faces.embedder import Embedder, build_embedder
from models.faces.quality import check_enrolment_photo

EMBEDDER_MODEL = "dlib_resnet_v1"
THUMBNAIL_PX = 96


@dataclass(frozen=True, slots=True)
class PhotoVerdict:
    """What happened to one uploaded photo."""

    filename: str
    accepted: bool
    message: str


@dataclass(frozen=True, slots=True)
class EnrolmentResult:
    """Templates (M, D) of the accepted photos, one thumbnail JPEG and a verdict per photo."""

    embeddings: NDArray[np.float32]
    thumbnail_jpeg: bytes | None
    verdicts: list[PhotoVerdict]


@dataclass
class FaceKit:
    """The face detector and embedder, built lazily once and shared by requests (guarded by a lock)."""

    detector_config: FaceDetectorConfig = field(default_factory=FaceDetectorConfig)
    embedder_config: EmbedderConfig = field(default_factory=EmbedderConfig)
    enrolment_config: EnrolmentConfig = field(default_factory=EnrolmentConfig)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _models: tuple[FaceDetector, Embedder] | None = None

    def models(self) -> tuple[FaceDetector, Embedder]:
        """(detector, embedder), built on first use."""
        with self._lock:
            if self._models is None:
                self._models = (build_face_detector(self.detector_config), build_embedder(self.embedder_config))
            return self._models

    def enrol(self, photos: list[tuple[str, bytes]]) -> EnrolmentResult:
        """Check and embed each (filename, bytes) photo; refused photos say why."""
        detector, embedder = self.models()
        vectors: list[NDArray[np.float32]] = []
        verdicts: list[PhotoVerdict] = []
        thumbnail: bytes | None = None
        for filename, data in photos:
            decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            if decoded is None:
                verdicts.append(PhotoVerdict(filename, False, "not a readable image: send a JPEG or PNG photo"))
                continue
            image: NDArray[np.uint8] = np.asarray(decoded, np.uint8)
            with self._lock:
                check = check_enrolment_photo(image, detector, self.enrolment_config)
                if not check.ok:
                    verdicts.append(PhotoVerdict(filename, False, check.reason or "refused"))
                    continue
                vectors.append(embedder.embed(image, check.face)[0])
            verdicts.append(PhotoVerdict(filename, True, "face enrolled"))
            if thumbnail is None:
                thumbnail = _thumbnail(image, check.face.xyxy[0])
        embeddings = np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, 128), np.float32)
        return EnrolmentResult(embeddings, thumbnail, verdicts)


def _thumbnail(image: NDArray[np.uint8], box: NDArray[np.float32]) -> bytes:
    """A small square JPEG of the face (with a margin)."""
    x1, y1, x2, y2 = box.tolist()
    side = max(x2 - x1, y2 - y1) * 1.3
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    h, w = image.shape[:2]
    a, b = max(int(cx - side / 2), 0), max(int(cy - side / 2), 0)
    crop = image[b : min(int(cy + side / 2), h), a : min(int(cx + side / 2), w)]
    ok, buffer = cv2.imencode(".jpg", cv2.resize(crop, (THUMBNAIL_PX, THUMBNAIL_PX)), [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise ValueError("could not encode the thumbnail")
    return bytes(buffer.tobytes())
