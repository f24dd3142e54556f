"""Face embeddings through our detector, for both backends: same person closer than different people, each on its
own cosine scale; SFace's load fixes, checksum and input order."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from models.detections import Detections
from models.faces.base import FaceDetector
from models.faces.config import EmbedderConfig
from models.faces.embedder import DLIB_MODEL, Embedder, build_face_embedder, dlib_boxes, embedder_model
from models.faces.openset import comparison_far, pass_far_bound, pass_threshold, threshold_at
from models.faces.sface import SFACE_MODEL, SFACE_SHA256, SFaceEmbedder, box_landmarks, sface_model_path
from models.runtime import ModelError
from tests.models.faces.conftest import load_sample

# (backend, same-person floor, different-person ceiling): SFace's impostor median is ~0.10, dlib's ~0.86
SCALES = {"sface": (0.55, 0.35), "dlib": (0.9, 0.9)}


@pytest.fixture(scope="module")
def dlib_embedder() -> Embedder:
    return build_face_embedder(EmbedderConfig(backend="dlib"))


@pytest.fixture(scope="module", params=["sface", "dlib"])
def any_embedder(request: pytest.FixtureRequest, embedder: Embedder, dlib_embedder: Embedder) -> Embedder:
    return embedder if request.param == "sface" else dlib_embedder


def _embed(detector: FaceDetector, embedder: Embedder, name: str) -> np.ndarray:
    image = load_sample(name)
    faces = detector.detect(image)
    vectors = embedder.embed(image, faces)
    assert vectors.shape == (len(faces), embedder.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    return vectors


def test_sface_is_the_default_and_dlib_stays_selectable(embedder: Embedder, dlib_embedder: Embedder) -> None:
    assert isinstance(embedder, SFaceEmbedder) and embedder.model == SFACE_MODEL == embedder_model(EmbedderConfig())
    assert dlib_embedder.model == DLIB_MODEL == embedder_model(EmbedderConfig(backend="dlib"))
    # each backend's threshold at FAR 1e-3 per comparison sits on its own scale
    assert threshold_at(embedder.far_table, 1e-3) < 0.5
    assert threshold_at(dlib_embedder.far_table, 1e-3) > 0.9


def test_same_person_more_similar_than_different(centerface: FaceDetector, any_embedder: Embedder) -> None:
    same_floor, other_ceiling = SCALES[any_embedder.model.split("_")[0]]
    obama_a = _embed(centerface, any_embedder, "obama_small.jpg")[0]
    obama_b = _embed(centerface, any_embedder, "obama-240p.jpg")[0]
    rose = _embed(centerface, any_embedder, "rose_leslie.jpg")[0]
    pair = _embed(centerface, any_embedder, "kit_with_rose.jpg")
    same = float(obama_a @ obama_b)
    assert same > same_floor
    assert same > float(obama_a @ rose) + 0.05
    # rose_leslie.jpg matches exactly one of the two faces in kit_with_rose.jpg
    scores = pair @ rose
    assert scores.max() > same_floor and scores.min() < other_ceiling
    assert scores.max() >= threshold_at(any_embedder.far_table, 1e-3) > scores.min()


def test_empty_faces_give_empty_embeddings(any_embedder: Embedder) -> None:
    out = any_embedder.embed(load_sample("obama_small.jpg"), Detections.empty(landmarks=(5, 2)))
    assert out.shape == (0, any_embedder.dim)


def test_sface_graph_is_fixed_and_its_weights_folded(embedder: Embedder) -> None:
    assert isinstance(embedder, SFaceEmbedder)
    session = embedder.runner.session  # only `data` left of the 29 stray inputs, batch symbolic; int8 folded at load
    assert [i.name for i in session.get_inputs()] == ["data"] and embedder.runner.input_shape() == ["N", 3, 112, 112]
    assert session.get_session_options().get_session_config_entry("session.disable_quant_qdq") == "1"


def test_sface_is_fed_rgb_and_batches(centerface: FaceDetector, embedder: Embedder) -> None:
    assert isinstance(embedder, SFaceEmbedder)
    image = load_sample("kit_with_rose.jpg")
    faces = centerface.detect(image)
    chips = embedder.chips(image, faces)
    batch = embedder.embed_chips(chips)
    one_by_one = np.concatenate([embedder.embed_chips(chips[i : i + 1]) for i in range(len(chips))])
    np.testing.assert_allclose(batch, one_by_one, atol=1e-4)
    # feeding the chips the other way round (BGR planes) gives different vectors: the channel order matters
    swapped = embedder.embed_chips(np.ascontiguousarray(chips[..., ::-1]))
    assert float((swapped * batch).sum(1).min()) < 0.99


def test_sface_without_landmarks_uses_the_box(centerface: FaceDetector, embedder: Embedder) -> None:
    image = load_sample("obama_small.jpg")
    faces = centerface.detect(image)
    with_landmarks = embedder.embed(image, faces)
    boxes_only = embedder.embed(image, Detections.build(faces.xyxy, faces.confidence))
    assert box_landmarks(faces.xyxy).shape == (len(faces), 5, 2)
    assert float((with_landmarks * boxes_only).sum(1).min()) > 0.3  # a rougher chip, still the same face


def test_sface_checksum_and_missing_file_are_clear_errors(tmp_path: Path) -> None:
    packaged = sface_model_path(EmbedderConfig())
    assert hashlib.sha256(packaged.read_bytes()).hexdigest() == SFACE_SHA256
    with pytest.raises(ModelError, match="does not exist"):
        sface_model_path(EmbedderConfig(model_path=tmp_path / "missing.onnx"))
    copy = tmp_path / "sface.onnx"
    shutil.copyfile(packaged, copy)
    assert sface_model_path(EmbedderConfig(model_path=copy)) == copy


def test_far_table_must_decrease() -> None:
    with pytest.raises(ValueError, match="decreasing"):
        EmbedderConfig(far_table=((1e-4, 0.5), (1e-3, 0.4)))


def test_per_pass_threshold_rises_with_the_gallery() -> None:
    table = ((1e-2, 0.3), (1e-4, 0.5), (1e-6, 0.6))
    assert threshold_at(table, 1e-3) == pytest.approx(0.4)
    assert threshold_at(table, 1e-7) == pytest.approx(0.65)  # the last segment extended
    sizes = [1, 100, 1000, 5000]
    thresholds = [pass_threshold(table, 1e-2, n) for n in sizes]
    assert thresholds == sorted(thresholds) and thresholds[0] == pytest.approx(0.3)
    for n in sizes:  # the per-comparison rate gives back the per-pass target
        assert pass_far_bound(comparison_far(1e-2, n), n) == pytest.approx(1e-2)


def test_dlib_boxes_are_square_and_centred_on_landmarks(centerface: FaceDetector) -> None:
    faces = centerface.detect(load_sample("obama_small.jpg"))
    boxes = dlib_boxes(faces)
    wh = boxes[:, 2:] - boxes[:, :2]
    np.testing.assert_allclose(wh[:, 0], wh[:, 1], rtol=1e-5)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    assert np.abs(centre - faces.data["landmarks"].mean(1)).max() < 0.1 * wh[0, 0]
