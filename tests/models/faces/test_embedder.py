"""dlib embeddings through our detector: same person closer than different people."""

from __future__ import annotations

import numpy as np

from models.detections import Detections
from models.faces.base import FaceDetector
from models.faces.embedder import Embedder, dlib_boxes
from tests.models.faces.conftest import load_sample


def _embed(detector: FaceDetector, embedder: Embedder, name: str) -> np.ndarray:
    image = load_sample(name)
    faces = detector.detect(image)
    vectors = embedder.embed(image, faces)
    assert vectors.shape == (len(faces), embedder.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    return vectors


def test_same_person_more_similar_than_different(centerface: FaceDetector, embedder: Embedder) -> None:
    obama_a = _embed(centerface, embedder, "obama_small.jpg")[0]
    obama_b = _embed(centerface, embedder, "obama-240p.jpg")[0]
    rose = _embed(centerface, embedder, "rose_leslie.jpg")[0]
    pair = _embed(centerface, embedder, "kit_with_rose.jpg")
    same = float(obama_a @ obama_b)
    assert same > 0.9
    assert same > float(obama_a @ rose) + 0.05
    # rose_leslie.jpg matches exactly one of the two faces in kit_with_rose.jpg
    scores = pair @ rose
    assert scores.max() > 0.9 > scores.min()


def test_empty_faces_give_empty_embeddings(embedder: Embedder) -> None:
    out = embedder.embed(load_sample("obama_small.jpg"), Detections.empty(landmarks=(5, 2)))
    assert out.shape == (0, embedder.dim)


def test_dlib_boxes_are_square_and_centred_on_landmarks(centerface: FaceDetector) -> None:
    faces = centerface.detect(load_sample("obama_small.jpg"))
    boxes = dlib_boxes(faces)
    wh = boxes[:, 2:] - boxes[:, :2]
    np.testing.assert_allclose(wh[:, 0], wh[:, 1], rtol=1e-5)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    assert np.abs(centre - faces.data["landmarks"].mean(1)).max() < 0.1 * wh[0, 0]
