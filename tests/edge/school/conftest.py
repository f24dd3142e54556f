"""Real face models shared by the school tests (loaded once per session)."""

from __future__ import annotations

import pytest

from edge.school.config import SchoolConfig
from edge.school.pipeline import FaceModels


@pytest.fixture(scope="session")
def face_models() -> FaceModels:
    """CenterFace + dlib embedder (the mask classifier is tested where its artefact is needed)."""
    from models.faces.detector import build_face_detector
    from models.faces.embedder import build_face_embedder

    config = SchoolConfig(school_id="test")
    return FaceModels(build_face_detector(config.detector), build_face_embedder(config.embedder), None)
