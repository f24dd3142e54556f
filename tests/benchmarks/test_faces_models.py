"""Face models speed: our detector + embedder (SFace, the default, and dlib) + mask classifier on every face against
face_recognition's own locations + encodings in the same run; and the embedders alone, per face.

Run with ``pytest tests/benchmarks/test_faces_models.py --benchmark-enable``; prints ms per frame and the ratio.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.faces.config import EmbedderConfig, FaceDetectorConfig, MaskConfig
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


def _median_ms(call, runs: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


@pytest.mark.parametrize(
    ("backend", "embedder_backend"), [("centerface", "sface"), ("centerface", "dlib"), ("mtcnn", "sface")]
)
def test_detect_embed_mask_vs_face_recognition(
    benchmark, report: list[str], backend: str, embedder_backend: str
) -> None:  # type: ignore[no-untyped-def]
    import face_recognition

    frame = _frame()
    rgb = np.ascontiguousarray(frame[..., ::-1])
    detector = build_face_detector(FaceDetectorConfig.model_validate({"backend": backend}))
    embedder = build_face_embedder(EmbedderConfig(backend=embedder_backend))  # type: ignore[arg-type]
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
    base_ms = _median_ms(baseline)
    benchmark.pedantic(ours, rounds=5, iterations=1, warmup_rounds=1)
    ours_ms = 1000 * benchmark.stats.stats.median
    report.append(
        f"faces models ({backend} + {embedder_backend} + mask on every face, 2 faces, 640x480): ours {ours_ms:.1f}"
        f" ms/frame, face_recognition {base_ms:.1f} ms/frame, ratio x{base_ms / ours_ms:.2f}"
    )


def test_sface_vs_dlib_per_face(benchmark, report: list[str]) -> None:  # type: ignore[no-untyped-def]
    frame = _frame()
    faces = build_face_detector(FaceDetectorConfig()).detect(frame)
    sface, dlib = build_face_embedder(), build_face_embedder(EmbedderConfig(backend="dlib"))
    dlib_ms = _median_ms(lambda: dlib.embed(frame, faces)) / len(faces)
    benchmark.pedantic(sface.embed, args=(frame, faces), rounds=5, iterations=1, warmup_rounds=1)
    sface_ms = 1000 * benchmark.stats.stats.median / len(faces)
    report.append(
        f"embedder per face (aligned chip + network, 1 thread): SFace {sface_ms:.1f} ms, dlib {dlib_ms:.1f} ms,"
        f" ratio x{dlib_ms / sface_ms:.2f}"
    )
