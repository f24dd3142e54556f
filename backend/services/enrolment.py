"""The backend's face models for enrolment; the enrolment loop itself is ``edge.school.enrol`` (one for the
API, ``kuzet enroll`` and the door).

The uploaded photos are never stored: only the embeddings (encrypted by ``privacy.store_templates``) and one small
face thumbnail survive the request. The detector and embedder are built once per app, on the first enrolment.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from edge.school.enrol import EnrolmentResult, enrol_images
from models.faces.config import EmbedderConfig, EnrolmentConfig, FaceDetectorConfig
from models.faces.detector import FaceDetector, build_face_detector
from models.faces.embedder import Embedder, build_face_embedder

EMBEDDER_MODEL = "dlib_resnet_v1"


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
                self._models = (build_face_detector(self.detector_config), build_face_embedder(self.embedder_config))
            return self._models

    def enrol(self, photos: list[tuple[str, bytes]]) -> EnrolmentResult:
        """Check and embed each (filename, bytes) photo; refused photos say why (one request at a time)."""
        detector, embedder = self.models()
        with self._lock:
            return enrol_images(photos, detector, embedder, self.enrolment_config)
