"""Face detection: the ``FACE_DETECTORS`` registry (backend name -> builder) and ``build_face_detector``.

Each backend lives in its own module (``centerface.py``, ``mtcnn.py``) and depends only on ``base.py``; this
module is the one place that knows them all, so switching backend is ``FaceDetectorConfig.backend``.
"""

from __future__ import annotations

from collections.abc import Callable

from models.faces.base import FaceDetector
from models.faces.centerface import build_centerface
from models.faces.config import FaceDetectorConfig
from models.faces.mtcnn import build_mtcnn
from models.runtime import RunnerConfig

FaceDetectorFactory = Callable[[FaceDetectorConfig, RunnerConfig | None], FaceDetector]

FACE_DETECTORS: dict[str, FaceDetectorFactory] = {
    "centerface": build_centerface,
    "mtcnn": build_mtcnn,
}


def build_face_detector(config: FaceDetectorConfig, runner_config: RunnerConfig | None = None) -> FaceDetector:
    """Build the configured detector backend (its Runner(s) included) from the ``FACE_DETECTORS`` registry."""
    return FACE_DETECTORS[config.backend](config, runner_config)


__all__ = ["FACE_DETECTORS", "FaceDetector", "FaceDetectorFactory", "build_face_detector"]
