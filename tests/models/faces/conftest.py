"""Real face models, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from models.faces.config import EmbedderConfig, FaceDetectorConfig
from models.faces.detector import FaceDetector, build_face_detector
from models.faces.embedder import Embedder, build_face_embedder

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "faces"


def load_sample(name: str) -> NDArray[np.uint8]:
    """A bundled MIT sample photo as BGR."""
    image = cv2.imread(str(SAMPLES / name))
    assert image is not None, f"missing sample {name}"
    return np.asarray(image, np.uint8)


@pytest.fixture(scope="session")
def centerface() -> FaceDetector:
    return build_face_detector(FaceDetectorConfig())


@pytest.fixture(scope="session")
def mtcnn() -> FaceDetector:
    return build_face_detector(FaceDetectorConfig(backend="mtcnn"))


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return build_face_embedder(EmbedderConfig())
