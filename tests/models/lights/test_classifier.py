"""The committed light classifier: drawn signal heads, thresholds, wrong model files, real test split."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from models.lights import CLASSES, LightClassifier, LightConfig, build_light_classifier, default_model_path
from models.lights.preprocess import N_FEATURES, batch_features, crop_features
from models.runtime import ModelError, Runner
from tests.conftest import require_data

LAMPS = ("red", "yellow", "green")
LAMP_BGR = {"red": (40, 40, 235), "yellow": (30, 200, 250), "green": (140, 230, 60)}


def signal_head(colour: str, width: int, seed: int) -> NDArray[np.uint8]:
    """A vertical three-lamp head with one lamp lit (red top, yellow middle, green bottom)."""
    height = int(width * 2.2)
    rng = np.random.default_rng(seed)
    img = (np.full((height, width, 3), 40) + rng.integers(0, 12, (height, width, 3))).astype(np.uint8)
    cv2.rectangle(img, (2, 2), (width - 3, height - 3), (20, 20, 20), -1)
    for k, name in enumerate(LAMPS):
        centre = (width // 2, int(height * (0.18, 0.5, 0.82)[k]))
        cv2.circle(img, centre, int(width * 0.35), LAMP_BGR[name] if name == colour else (50, 55, 50), -1)
    return img


@pytest.fixture(scope="module")
def classifier() -> LightClassifier:
    return build_light_classifier()


@pytest.mark.parametrize("colour", LAMPS)
@pytest.mark.parametrize("width", [18, 30, 60])
def test_drawn_heads_are_classified(classifier: LightClassifier, colour: str, width: int) -> None:
    labels, probs = classifier.predict([signal_head(colour, width, seed=width)])
    assert labels.tolist() == [colour]
    assert probs.shape == (1, len(CLASSES))
    assert probs[0].sum() == pytest.approx(1.0, abs=1e-4)
    assert probs[0, CLASSES.index(colour)] > 0.9


def test_empty_tiny_and_unsure(classifier: LightClassifier) -> None:
    labels, probs = classifier.predict([])
    assert labels.shape == (0,) and probs.shape == (0, len(CLASSES))
    tiny = np.zeros((2, 2, 3), dtype=np.uint8)
    labels, probs = classifier.predict([tiny, signal_head("red", 30, 0)])
    assert labels.tolist() == ["unknown", "red"]
    assert probs[0].tolist() == [0.0] * len(CLASSES)
    strict = LightClassifier(classifier.runner, LightConfig(min_confidence=1.0))
    grey = np.full((60, 30, 3), 90, dtype=np.uint8)
    assert strict.predict([grey])[0].tolist() == ["unknown"]


def test_labels_map_to_the_contract_signal_states(classifier: LightClassifier) -> None:
    from kuzet.contracts import SignalState

    crops = [signal_head(c, 30, seed=1) for c in LAMPS] + [np.zeros((2, 2, 3), dtype=np.uint8)]
    crops.append(np.zeros((60, 30, 3), dtype=np.uint8))
    states = classifier.predict_states(crops)
    assert states == [SignalState.RED, SignalState.AMBER, SignalState.GREEN, SignalState.UNKNOWN, SignalState.OFF]


def test_features_shape() -> None:
    assert crop_features(signal_head("green", 30, 1)).shape == (N_FEATURES,)
    assert batch_features([]).shape == (0, N_FEATURES)


def test_wrong_model_file_is_refused(tmp_path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        build_light_classifier(LightConfig(model_path=tmp_path / "missing.onnx"))
    with pytest.raises(ModelError, match="inputs"):
        Runner(default_model_path(), inputs=["image"], outputs=["probabilities"])


def test_artefact_is_small() -> None:
    assert default_model_path().stat().st_size < 300_000


def test_real_test_split_accuracy(classifier: LightClassifier) -> None:
    root = require_data("traffic/lights")
    rows = [r for r in csv.DictReader((root / "labels.csv").open()) if r["split"] == "test"]
    crops = [cv2.imread(str(root / r["image"])) for r in rows]
    labels, _ = classifier.predict(crops)
    truth = np.array([r["colour"] for r in rows])
    assert np.mean(labels == truth) >= 0.97
    for colour in LAMPS:
        assert np.mean(labels[truth == colour] == colour) >= 0.85, colour
    assert np.sum((truth == "red") & (labels == "green")) == 0
