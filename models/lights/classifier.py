"""Traffic-light state classifier: signal-head crop -> red / yellow / green / off with calibrated probabilities.

The model is trained by ``models/training/lights.py`` on real crops and shipped as
``models/artifacts/light_classifier.onnx`` (a scaler + logistic regression exported with skl2onnx; input
``features`` (N, F) float32, outputs ``label`` and ``probabilities`` (N, 4)). ``off`` is trained on real negatives
(unlit heads, road background, night and dusk crops); the probabilities are temperature-calibrated on a validation
split (folded into the weights), so a top probability under ``min_confidence`` reads ``unknown``.

Pre-process: ``preprocess.batch_features``; inference: the ONNX head through a ``Runner``; post-process:
``decide`` (thresholds -> labels), then ``LABEL_TO_STATE`` for the contract's ``SignalState``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from kuzet.config import StrictModel
from kuzet.contracts import SignalState
from models.lights.preprocess import N_FEATURES, batch_features
from models.runtime import ModelError, Runner, RunnerConfig

CLASSES: tuple[str, ...] = ("red", "yellow", "green", "off")
UNKNOWN = "unknown"
LABEL_TO_STATE: dict[str, SignalState] = {
    "red": SignalState.RED,
    "yellow": SignalState.AMBER,
    "green": SignalState.GREEN,
    "off": SignalState.OFF,
    UNKNOWN: SignalState.UNKNOWN,
}
"""The classifier's labels (the training set's class names) as the contract's signal states."""
INPUTS = ("features",)
OUTPUTS = ("probabilities",)


def default_model_path() -> Path:
    """The committed artefact."""
    return Path(__file__).resolve().parent.parent / "artifacts" / "light_classifier.onnx"


class LightConfig(StrictModel):
    """Model file and decision thresholds of the light classifier."""

    model_path: Path | None = Field(
        default=None, description="Light classifier ONNX file (default: models/artifacts/light_classifier.onnx)"
    )
    min_confidence: float = Field(
        default=0.6, ge=0.0, le=1.0, description="Below this (calibrated) top probability the label is 'unknown'"
    )
    min_side_px: int = Field(default=4, ge=1, le=64, description="Crops with a shorter side are 'unknown'")


class LightClassifier:
    """Classifies signal-head crops.

    Args:
        runner: a ``Runner`` on ``light_classifier.onnx`` built with ``inputs=INPUTS, outputs=OUTPUTS``.
        config: decision thresholds.
    """

    def __init__(self, runner: Runner, config: LightConfig | None = None) -> None:
        self.runner = runner
        self.config = config or LightConfig()
        shape = runner.input_shape("features")
        if shape[-1] != N_FEATURES:
            raise ModelError(f"{runner.name}: expects {shape[-1]} features, preprocessing makes {N_FEATURES}")
        classes = runner.metadata.get("classes", ",".join(CLASSES)).split(",")
        if tuple(classes) != CLASSES:
            raise ModelError(f"{runner.name}: classes {classes}, expected {list(CLASSES)}")

    def predict(self, crops: Sequence[NDArray[np.uint8]]) -> tuple[NDArray[np.str_], NDArray[np.float32]]:
        """Classify N crops.

        Args:
            crops: N BGR uint8 images (H, W, 3), any size.

        Returns:
            ``(labels, probs)``: (N,) ``red``/``yellow``/``green``/``off``/``unknown`` and (N, 4) float32 class
            probabilities in ``CLASSES`` order (zeros for crops too small to classify).
        """
        n = len(crops)
        probs = np.zeros((n, len(CLASSES)), dtype=np.float32)
        usable = np.array([min(c.shape[:2]) >= self.config.min_side_px for c in crops], dtype=bool)
        if usable.any():
            feats = batch_features([c for c, ok in zip(crops, usable, strict=True) if ok])
            probs[usable] = self.runner.run({"features": feats})[0].astype(np.float32)
        return decide(probs, usable, self.config.min_confidence), probs

    def predict_states(self, crops: Sequence[NDArray[np.uint8]]) -> list[SignalState]:
        """N crops as the contract's signal states (``yellow`` is ``AMBER``, ``off`` is ``OFF``; unsure or too small
        is ``UNKNOWN``)."""
        labels, _ = self.predict(crops)
        return [LABEL_TO_STATE[str(label)] for label in labels]


def decide(probs: NDArray[np.float32], usable: NDArray[np.bool_], min_confidence: float) -> NDArray[np.str_]:
    """(N,) labels from (N, 4) probabilities: the best class, or ``unknown`` when unsure or not ``usable``."""
    names = np.array([*CLASSES, UNKNOWN])
    best = probs.argmax(axis=1) if len(probs) else np.zeros(0, dtype=np.int64)
    confident = probs.max(axis=1, initial=0.0) >= max(min_confidence, 1e-6)
    return np.asarray(names[np.where(confident & usable, best, len(CLASSES))])


def build_light_classifier(
    config: LightConfig | None = None, runner_config: RunnerConfig | None = None
) -> LightClassifier:
    """Build the classifier on the committed artefact (or ``config.model_path``) through a Runner."""
    config = config or LightConfig()
    path = config.model_path or default_model_path()
    runner = Runner(path, runner_config, inputs=INPUTS, outputs=OUTPUTS, name="light_classifier")
    return LightClassifier(runner, config)
