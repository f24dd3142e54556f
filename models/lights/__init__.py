"""Traffic-light state classifier: signal-head crop -> red / yellow / green -> the contract's ``SignalState``.

``preprocess.py`` turns crops into features (shared with training), ``classifier.py`` runs the ONNX head and
decides the labels; ``build_light_classifier(config, runner_config)`` is the builder.
"""

from models.lights.classifier import (
    CLASSES,
    INPUTS,
    LABEL_TO_STATE,
    OUTPUTS,
    UNKNOWN,
    LightClassifier,
    LightConfig,
    build_light_classifier,
    decide,
    default_model_path,
)

__all__ = [
    "CLASSES",
    "INPUTS",
    "LABEL_TO_STATE",
    "OUTPUTS",
    "UNKNOWN",
    "LightClassifier",
    "LightConfig",
    "build_light_classifier",
    "decide",
    "default_model_path",
]
