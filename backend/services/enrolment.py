"""The backend's face models for enrolment, and the re-embedding of a school's templates when the embedder changes;
the enrolment loop itself is ``edge.school.enrol`` (one for the API, ``kuzet enroll`` and the door).

The uploaded photos are never stored: only the embeddings (encrypted by ``privacy.store_templates``, each tagged with
the embedder's model) and one small face thumbnail survive the request. The detector and embedder are built once
per app, on the first enrolment.

Migration to another embedder (dlib -> SFace): templates of two models are never compared, so a school's templates
made by another model must be re-made. The photos are gone; the sealed enrolment thumbnail (the face with a margin,
at most 96 px) is what is left, so ``reembed_school`` re-embeds each such pupil from it (SFace's chip is 112 px and
its accuracy on 100-px face crops is what ``wild_lag_cn`` measures) and replaces the old templates in one gallery
version; a pupil without a usable thumbnail is listed for re-enrolment with new photos. Doors skip templates of
another model (logged) until then.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass, field

import numpy as np

from backend.services import privacy
from backend.store import faces
from edge.school.enrol import EnrolmentResult, decode_photo, enrol_images
from models.faces.config import EmbedderConfig, EnrolmentConfig, FaceDetectorConfig
from models.faces.detector import FaceDetector, build_face_detector
from models.faces.embedder import Embedder, build_face_embedder, embedder_model

logger = logging.getLogger(__name__)

EMBEDDER_MODEL = embedder_model(EmbedderConfig())  # the default embedder's template tag (SFace)


@dataclass
class FaceKit:
    """The face detector and embedder, built lazily once and shared by requests (guarded by a lock)."""

    detector_config: FaceDetectorConfig = field(default_factory=FaceDetectorConfig)
    embedder_config: EmbedderConfig = field(default_factory=EmbedderConfig)
    enrolment_config: EnrolmentConfig = field(default_factory=EnrolmentConfig)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _models: tuple[FaceDetector, Embedder] | None = None

    @property
    def model(self) -> str:
        """Template tag of the configured embedder (stored with every template it makes)."""
        return embedder_model(self.embedder_config)

    def models(self) -> tuple[FaceDetector, Embedder]:
        """(detector, embedder), built on first use."""
        with self._lock:
            if self._models is None:
                self._models = (build_face_detector(self.detector_config), build_face_embedder(self.embedder_config))
            return self._models

    def enrol(self, photos: list[tuple[str, bytes]]) -> EnrolmentResult:
        """Check and embed each (filename, bytes) photo; refused photos say why (one request at a time)."""
        detector, embedder = self.models()
        with self._lock:
            return enrol_images(photos, detector, embedder, self.enrolment_config)

    def embed_thumbnail(self, jpeg: bytes) -> np.ndarray | None:
        """(1, dim) template of the largest face in a stored thumbnail, or None when no face is found there.

        No enrolment photo check: the thumbnail is a small crop of a photo that passed it.
        """
        detector, embedder = self.models()
        image = decode_photo(jpeg)
        if image is None:
            return None
        with self._lock:
            found = detector.detect(image)
            if len(found) == 0:
                return None
            return embedder.embed(image, found[int(np.argmax(found.area))])


@dataclass(frozen=True, slots=True)
class ReembedReport:
    """What ``reembed_school`` did: pupils re-embedded from their thumbnail, and those who need new photos."""

    school_id: str
    model: str
    reembedded: list[str]
    needs_photos: list[str]
    templates_by_model: dict[str, int]


def reembed_school(conn: sqlite3.Connection, key: bytes, kit: FaceKit, school_id: str) -> ReembedReport:
    """Re-make every template of the school made by another embedder than ``kit``'s, from the sealed thumbnail.

    Each re-embedded pupil's old templates are replaced (``privacy.store_templates``: one gallery version per
    pupil, so doors pull the change); a pupil without a thumbnail, or whose thumbnail shows no face, keeps the old
    templates (never compared by a door of the new model) and is listed in ``needs_photos``. Run it inside one
    transaction.
    """
    done, missing = [], []
    for pupil_id in faces.pupils_with_other_models(conn, school_id, kit.model):
        jpeg = privacy.thumbnail(conn, key, pupil_id)
        vector = None if jpeg is None else kit.embed_thumbnail(jpeg)
        if vector is None or not privacy.has_consent(conn, pupil_id):
            missing.append(pupil_id)
            continue
        privacy.store_templates(conn, key, pupil_id, kit.model, vector, None)
        done.append(pupil_id)
    if missing:
        logger.warning(
            "%s: %d pupils need new enrolment photos for %s: %s", school_id, len(missing), kit.model, missing
        )
    return ReembedReport(school_id, kit.model, done, missing, faces.model_counts(conn, school_id))


__all__ = ["EMBEDDER_MODEL", "FaceKit", "ReembedReport", "reembed_school"]
