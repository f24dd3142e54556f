"""Face models speed: our CenterFace + dlib embedder against face_recognition's own locations + encodings.

Run with ``pytest tests/benchmarks/test_faces_models.py --benchmark-enable``; prints ms per frame and the ratio.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.faces.config import FaceDetectorConfig, MaskConfig
from models.faces.detector import build_face_detector
from models.faces.embedder import build_face_embedder
from models.faces.mask import build_mask_classifier

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "faces"


def _frame() -> np.ndarray:
    """640x480 frame holding the two faces of kit_with_rose.jpg."""
    image = cv2.imread(str(SAMPLES / "kit_with_rose.jpg"))
    frame = np.zeros((480, 640, 3), np.uint8)
    small = cv2.resize(image, (336, 470))
    frame[5:475, 150:486] = small
    return frame


@pytest.mark.parametrize("backend", ["centerface", "mtcnn"])
def test_detect_embed_mask_vs_face_recognition(benchmark, report: list[str], backend: str) -> None:
    import face_recognition

    frame = _frame()
    rgb = np.ascontiguousarray(frame[..., ::-1])
    detector = build_face_detector(FaceDetectorConfig.model_validate({"backend": backend}))
    embedder = build_face_embedder()
    masks = build_mask_classifier(MaskConfig())

    def ours() -> int:
        faces = detector.detect(frame)
        embedder.embed(frame, faces)
        masks.predict(frame, faces)
        return len(faces)

    def baseline() -> int:
        boxes = face_recognition.face_locations(rgb)
        face_recognition.face_encodings(rgb, boxes)
        return len(boxes)

    assert ours() == baseline() == 2
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        baseline()
        runs.append(time.perf_counter() - start)
    base_ms = 1000 * statistics.median(runs)
    benchmark.pedantic(ours, rounds=5, iterations=1, warmup_rounds=1)
    ours_ms = 1000 * benchmark.stats.stats.median
    report.append(
        f"faces models ({backend} + dlib + mask, 2 faces, 640x480): ours {ours_ms:.1f} ms/frame,"
        f" face_recognition {base_ms:.1f} ms/frame, ratio x{base_ms / ours_ms:.2f}"
    )
