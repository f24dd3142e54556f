"""Mask / no-mask classifier over face crops: hand-made features in numpy/OpenCV, a trained head in ONNX.

Pre-process: ``crop_faces`` then ``mask_features``; inference: the ONNX head through a ``Runner``; post-process:
column 1 of its probabilities, thresholded by ``HogMaskClassifier.is_masked``.

Features of one face crop (resized to ``CROP`` x ``CROP``): a HOG descriptor of the grey crop (shape of the lower
face: a mask hides the mouth and nostrils edges) and a coarse CIE-Lab colour grid (a mask is a flat patch of one
colour where skin would be). The ONNX head (scaler + classifier, trained by ``models/training/masks.py``) takes the
(N, F) float32 features and returns P(mask). Its decision threshold and feature version are ONNX metadata.

Some faces cannot be judged: too small, too dark, too flat or too blurred (``models.faces.quality.crop_light``
against the ``MaskConfig`` limits). ``judge`` answers ``unknown`` for them instead of a guess: a dark, blurred bare
face looks like a flat patch over the mouth, which is exactly what a mask looks like to these features.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from models.detections import Detections
from models.faces.base import MaskClassifier
from models.faces.config import MaskConfig
from models.faces.quality import crop_light
from models.image import as_bgr
from models.runtime import ModelError, Runner, RunnerConfig

logger = logging.getLogger(__name__)

FEATURE_VERSION = "hog32+lab8-v1"
CROP = 32
COLOUR_GRID = 8
MASK_INPUT = "features"
MASK_OUTPUT = "probabilities"
DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "artifacts" / "mask_classifier.onnx"

_HOG = cv2.HOGDescriptor((CROP, CROP), (16, 16), (8, 8), (8, 8), 9)
FEATURE_DIM = int(_HOG.getDescriptorSize()) + COLOUR_GRID * COLOUR_GRID * 3


def crop_faces(image_bgr: NDArray[np.uint8], xyxy: NDArray[Any], margin: float = 0.0) -> list[NDArray[np.uint8]]:
    """Crops of (N, 4) boxes (grown by ``margin`` of their size on each side, clipped to the image)."""
    image = as_bgr(image_bgr)
    h, w = image.shape[:2]
    boxes = np.asarray(xyxy, np.float32).reshape(-1, 4)
    grow = (boxes[:, 2:] - boxes[:, :2]) * margin
    boxes = np.concatenate([boxes[:, :2] - grow, boxes[:, 2:] + grow], axis=1)
    boxes = np.rint(boxes).astype(int)
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, w)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, h)
    return [image[y1:y2, x1:x2] for x1, y1, x2, y2 in boxes.tolist()]


def mask_features(crops: list[NDArray[np.uint8]]) -> NDArray[np.float32]:
    """(N, FEATURE_DIM) float32 features of N BGR face crops of any size (an empty crop gives zeros)."""
    out = np.zeros((len(crops), FEATURE_DIM), np.float32)
    hog_dim = FEATURE_DIM - COLOUR_GRID * COLOUR_GRID * 3
    for i, crop in enumerate(crops):  # HOG and resizing are per-crop OpenCV calls
        if crop.size == 0:
            continue
        small = cv2.resize(as_bgr(crop), (CROP, CROP), interpolation=cv2.INTER_AREA)
        grey = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
        out[i, :hog_dim] = np.asarray(_HOG.compute(grey), np.float32).reshape(-1)
        lab = cv2.resize(
            cv2.cvtColor(small, cv2.COLOR_BGR2LAB), (COLOUR_GRID, COLOUR_GRID), interpolation=cv2.INTER_AREA
        )
        out[i, hog_dim:] = lab.reshape(-1).astype(np.float32) / 255.0
    return out


def is_mono(crops: list[NDArray[np.uint8]], tolerance: float = 1.0) -> NDArray[np.bool_]:
    """(N,) True for a grey crop: its colour channels differ by at most ``tolerance`` levels on average (an IR or
    night-mode camera; JPEG/H.264 chroma leaves about a level of noise)."""
    out = np.zeros(len(crops), bool)
    for i, crop in enumerate(crops):
        if crop.ndim == 2 or (crop.ndim == 3 and crop.shape[2] == 1):
            out[i] = True
        elif crop.size:
            c = crop.astype(np.int16)
            out[i] = (
                max(float(np.abs(c[..., 0] - c[..., 1]).mean()), float(np.abs(c[..., 1] - c[..., 2]).mean()))
                <= tolerance
            )
    return out


class HogMaskClassifier:
    """P(mask) for face crops: HOG + Lab features here, the trained ONNX head through a Runner.

    Implements ``models.faces.base.MaskClassifier``.

    Args:
        runner: a Runner over ``mask_classifier.onnx``: input ``features`` (N, F), output ``probabilities``
            (N, 2), only that output requested.
        config: crop margin and an optional threshold override.
    """

    def __init__(self, runner: Runner, config: MaskConfig) -> None:
        version = runner.metadata.get("feature_version")
        if version != FEATURE_VERSION:
            raise ModelError(f"{runner.name}: feature version {version!r}, this code computes {FEATURE_VERSION!r}")
        self.runner = runner
        self.config = config
        stored = runner.metadata.get("threshold")
        self.threshold = config.threshold if config.threshold is not None else float(stored or 0.5)
        stored_grey = runner.metadata.get("threshold_grey")
        self.threshold_grey = config.threshold if config.threshold is not None else float(stored_grey or self.threshold)

    def predict_crops(self, crops: list[NDArray[np.uint8]]) -> NDArray[np.float32]:
        """(N,) P(mask) of N BGR face crops."""
        if not crops:
            return np.zeros(0, np.float32)
        (probs,) = self.runner.run({MASK_INPUT: mask_features(crops)})
        return np.asarray(probs, np.float32).reshape(len(crops), -1)[:, 1].copy()

    def predict(self, image_bgr: NDArray[np.uint8], faces: Detections) -> NDArray[np.float32]:
        """(N,) P(mask) of the N detected faces."""
        return self.predict_crops(crop_faces(image_bgr, faces.xyxy, self.config.crop_margin))

    def is_masked(self, probabilities: NDArray[np.float32]) -> NDArray[np.bool_]:
        """Decision at the configured (or trained) threshold."""
        return np.asarray(probabilities >= self.threshold)

    def judgeable_crops(self, crops: list[NDArray[np.uint8]]) -> NDArray[np.bool_]:
        """(N,) True where a face crop is large, bright, contrasted and sharp enough to judge (``MaskConfig``)."""
        light, c = crop_light(crops), self.config
        return np.asarray(
            (light["size"] >= c.min_face_px)
            & (light["brightness"] >= c.min_brightness)
            & (light["contrast"] >= c.min_contrast)
            & (light["detail"] >= c.min_detail)
        )

    def judgeable(self, image_bgr: NDArray[np.uint8], faces: Detections) -> NDArray[np.bool_]:
        """(N,) whether each detected face can be judged (see ``judgeable_crops``)."""
        return self.judgeable_crops(crop_faces(image_bgr, faces.xyxy, self.config.crop_margin))

    def thresholds_crops(self, crops: list[NDArray[np.uint8]]) -> NDArray[np.float32]:
        """(N,) the P(mask) at or above which each crop wears a mask: ``threshold_grey`` for a grey crop (an IR /
        night-mode camera: its three channels equal), ``threshold`` for a colour one."""
        return np.where(is_mono(crops), self.threshold_grey, self.threshold).astype(np.float32)

    def thresholds(self, image_bgr: NDArray[np.uint8], faces: Detections) -> NDArray[np.float32]:
        """(N,) the decision threshold of each detected face (see ``thresholds_crops``)."""
        return self.thresholds_crops(crop_faces(image_bgr, faces.xyxy, self.config.crop_margin))

    def judge_crops(self, crops: list[NDArray[np.uint8]]) -> tuple[list[str], NDArray[np.float32]]:
        """Verdicts ``mask`` / ``no_mask`` / ``unknown`` of N crops and their P(mask) (NaN where unknown)."""
        ok = self.judgeable_crops(crops)
        probs = np.full(len(crops), np.nan, np.float32)
        if ok.any():
            probs[ok] = self.predict_crops([c for c, good in zip(crops, ok.tolist(), strict=True) if good])
        limits = self.thresholds_crops(crops).tolist()
        verdicts = [
            "unknown" if not good else ("mask" if p >= t else "no_mask")
            for good, p, t in zip(ok.tolist(), probs.tolist(), limits, strict=True)
        ]
        return verdicts, probs


def training_report_path(config: MaskConfig) -> Path:
    """The training report next to the classifier file (lists the training files' hashes)."""
    return (config.model_path or DEFAULT_MODEL).with_name("mask_classifier_report.json")


def build_mask_classifier(
    config: MaskConfig | None = None, runner_config: RunnerConfig | None = None
) -> HogMaskClassifier:
    """Build the classifier on the committed (or configured) ONNX head through a Runner."""
    config = config or MaskConfig()
    path = config.model_path or DEFAULT_MODEL
    runner = Runner(path, runner_config, inputs=[MASK_INPUT], outputs=[MASK_OUTPUT], name=f"mask classifier ({path})")
    return HogMaskClassifier(runner, config)


__all__ = [
    "FEATURE_DIM",
    "FEATURE_VERSION",
    "HogMaskClassifier",
    "MaskClassifier",
    "build_mask_classifier",
    "crop_faces",
    "is_mono",
    "mask_features",
    "training_report_path",
]
