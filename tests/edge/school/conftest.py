"""Real face models shared by the school tests (loaded once per session)."""

from __future__ import annotations

import pytest

from edge.school.pipeline import FaceModels
from models.faces.config import EmbedderConfig, FaceDetectorConfig


@pytest.fixture(scope="session")
def face_models() -> FaceModels:
    """CenterFace + dlib embedder (the mask classifier is tested where its artefact is needed)."""
    from models.faces.detector import build_face_detector
    from models.faces.embedder import build_embedder

    return FaceModels(build_face_detector(FaceDetectorConfig()), build_embedder(EmbedderConfig()), None)
