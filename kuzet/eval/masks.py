"""``kuzet eval masks``: the two layouts of ../shared/EVAL.md.

- ``with_mask/`` + ``without_mask/``: each image goes through the face detector; the largest face is classified; an
  image with no face found counts as an error (``no_face``).
- ``labels.csv`` (``image,x1,y1,x2,y2,label``): the face box is given, clipped to the image; boxes with a short side
  below ``min_size`` are skipped (``skipped``); ``mask_weared_incorrect`` counts as ``without_mask``.

Files the committed classifier was trained on (their SHA-256 prefixes are in ``mask_classifier_report.json``) are
left out and counted in ``excluded_training_files``, so running this on the training folders scores exactly the
held-out test split, and any other folder is scored whole. ``include_training`` scores everything.

``grey`` measures the night / infrared variant: every image is converted to one grey channel (BT.601 luma, what a
camera in IR night mode delivers) and back to three identical channels before detection and classification.

The classifier answers ``unknown`` for a face too small, too dark or too blurred to judge
(``HogMaskClassifier.judge``); such a face counts as wrong in ``accuracy`` and the recalls (it was not classified),
and is counted in ``unknown``; ``accuracy_judged`` is the accuracy over the faces that were judged.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kuzet.eval.common import LayoutError, Progress
from models.faces.detector import FaceDetector
from models.faces.folders import list_images, read_image
from models.faces.mask import HogMaskClassifier, crop_faces
from models.runtime import sha256_file

CSV_COLUMNS = ("image", "x1", "y1", "x2", "y2", "label")
LABELS = {"with_mask": 1, "without_mask": 0, "mask_weared_incorrect": 0}


def check_mask_layout(root: Path) -> str:
    """``"csv"`` or ``"folders"``; ``LayoutError`` naming what is missing otherwise."""
    if not root.is_dir():
        raise LayoutError(f"{root} is not a folder")
    if (root / "labels.csv").is_file():
        with (root / "labels.csv").open(newline="") as handle:
            header = next(csv.reader(handle), [])
        missing = [c for c in CSV_COLUMNS if c not in header]
        if missing:
            raise LayoutError(f"{root / 'labels.csv'} lacks columns {missing}")
        return "csv"
    missing = [d for d in ("with_mask", "without_mask") if not (root / d).is_dir()]
    if missing:
        raise LayoutError(f"{root} needs with_mask/ and without_mask/ sub-folders or a labels.csv (missing {missing})")
    return "folders"


def training_hashes(report: Path) -> frozenset[str]:
    """SHA-256 prefixes of the files the classifier was trained on (empty when there is no report)."""
    if not report.is_file():
        return frozenset()
    return frozenset(json.loads(report.read_text()).get("train_sha256_prefixes", []))


def _is_training(path: Path, trained: frozenset[str]) -> bool:
    if not trained:
        return False
    prefix_len = len(next(iter(trained)))
    return sha256_file(path)[:prefix_len] in trained


def _rates(verdicts: list[str], labels: np.ndarray[Any, Any], errors: int) -> dict[str, float]:
    """Accuracy over scored items plus ``errors`` items that count as wrong; an ``unknown`` verdict is wrong too
    (``accuracy_judged`` leaves the unknown ones out)."""
    said = np.array(verdicts, dtype=object).reshape(-1)
    predicted, judged = said == "mask", said != "unknown"
    mask, no_mask = labels == 1, labels == 0
    correct = judged & (predicted == mask)
    total = len(labels) + errors
    return {
        "accuracy": float(correct.sum() / total) if total else 0.0,
        "accuracy_judged": float(correct.sum() / judged.sum()) if judged.any() else 0.0,
        "unknown": int((~judged).sum()),
        "precision_mask": float(mask[predicted].mean()) if predicted.any() else 0.0,
        "recall_mask": float(predicted[mask].mean()) if mask.any() else 0.0,
        "recall_no_mask": float((judged & ~predicted)[no_mask].mean()) if no_mask.any() else 0.0,
    }


def as_grey(image: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The image as an IR / night-mode camera delivers it: BT.601 luma in three identical channels."""
    return np.asarray(cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR), np.uint8)


def evaluate_mask_folders(
    root: Path,
    classifier: HogMaskClassifier,
    detector: FaceDetector,
    trained: frozenset[str],
    progress: Progress | None,
    grey: bool = False,
) -> dict[str, Any]:
    """with_mask/ + without_mask/ layout (see module docstring)."""
    labels: list[int] = []
    predicted: list[str] = []
    no_face = unreadable = excluded = 0
    seconds = 0.0
    for name, label in (("with_mask", 1), ("without_mask", 0)):
        for path in list_images(root / name):
            if _is_training(path, trained):
                excluded += 1
                continue
            image = read_image(path)
            if image is None:
                unreadable += 1
                continue
            image = as_grey(image) if grey else image
            start = time.perf_counter()
            faces = detector.detect(image)
            if len(faces) == 0:
                no_face += 1
                seconds += time.perf_counter() - start
                continue
            main = faces[int(np.argmax(faces.area))]
            verdicts, _ = classifier.judge_crops(crop_faces(image, main.xyxy, classifier.config.crop_margin))
            seconds += time.perf_counter() - start
            labels.append(label)
            predicted.append(verdicts[0])
        if progress:
            progress(f"masks: {name} done ({len(labels)} faces scored)")
    scored = len(labels)
    n = scored + no_face + unreadable
    return {
        "layout": "folders",
        "grey": grey,
        "n": n,
        **_rates(predicted, np.array(labels, int), no_face + unreadable),
        "no_face": no_face,
        "unreadable": unreadable,
        "excluded_training_files": excluded,
        "threshold": classifier.threshold,
        "threshold_grey": classifier.threshold_grey,
        "ms_per_image": 1000.0 * seconds / max(scored + no_face, 1),
    }


def _read_rows(root: Path) -> dict[str, list[dict[str, str]]]:
    by_image: dict[str, list[dict[str, str]]] = {}
    with (root / "labels.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["label"] not in LABELS:
                raise LayoutError(f"{root / 'labels.csv'}: unknown label {row['label']!r} (use {sorted(LABELS)})")
            by_image.setdefault(row["image"], []).append(row)
    return by_image


def _image_path(root: Path, name: str) -> Path:
    direct = root / name
    return direct if direct.is_file() else root / "images" / name


def evaluate_mask_csv(
    root: Path,
    classifier: HogMaskClassifier,
    min_size: int,
    trained: frozenset[str],
    progress: Progress | None,
    grey: bool = False,
) -> dict[str, Any]:
    """labels.csv layout (see module docstring)."""
    labels: list[int] = []
    predicted: list[str] = []
    incorrect: list[bool] = []
    skipped = unreadable_faces = unreadable = excluded = 0
    seconds = 0.0
    rows_by_image = _read_rows(root)
    for index, (name, rows) in enumerate(sorted(rows_by_image.items())):
        path = _image_path(root, name)
        if path.is_file() and _is_training(path, trained):
            excluded += 1
            continue
        image = read_image(path) if path.is_file() else None
        if image is None:
            unreadable += 1
            unreadable_faces += len(rows)
            continue
        xyxy = np.array([[float(r[k]) for k in ("x1", "y1", "x2", "y2")] for r in rows], np.float32)
        crops = crop_faces(as_grey(image) if grey else image, xyxy)
        keep = [i for i, c in enumerate(crops) if min(c.shape[:2]) >= min_size]
        skipped += len(rows) - len(keep)
        start = time.perf_counter()
        verdicts, _ = classifier.judge_crops([crops[i] for i in keep])
        seconds += time.perf_counter() - start
        labels.extend(LABELS[rows[i]["label"]] for i in keep)
        incorrect.extend(rows[i]["label"] == "mask_weared_incorrect" for i in keep)
        predicted.extend(verdicts)
        if progress and (index + 1) % 100 == 0:
            progress(f"masks: {index + 1}/{len(rows_by_image)} images")
    pred, wrong_worn = np.array(predicted, dtype=object) == "no_mask", np.array(incorrect, dtype=np.bool_)
    rates = _rates(predicted, np.array(labels, int), unreadable_faces)
    return {
        "layout": "labels.csv",
        "grey": grey,
        "n": len(labels) + unreadable_faces,
        "skipped": skipped,
        **rates,
        "recall_incorrectly_worn": float(pred[wrong_worn].mean()) if wrong_worn.any() else None,
        "unreadable": unreadable,
        "excluded_training_files": excluded,
        "min_size": min_size,
        "threshold": classifier.threshold,
        "threshold_grey": classifier.threshold_grey,
        "ms_per_face": 1000.0 * seconds / max(len(labels), 1),
    }


def evaluate_masks(
    root: Path,
    classifier: HogMaskClassifier,
    detector: FaceDetector,
    min_size: int = 24,
    include_training: bool = False,
    report: Path | None = None,
    progress: Progress | None = None,
    grey: bool = False,
) -> dict[str, Any]:
    """Evaluate a mask folder of either layout; ``report`` is the training report listing training files;
    ``grey`` converts every image to the IR / night-mode variant first (``as_grey``)."""
    layout = check_mask_layout(root)
    trained = frozenset() if include_training or report is None else training_hashes(report)
    if layout == "csv":
        return evaluate_mask_csv(root, classifier, min_size, trained, progress, grey)
    return evaluate_mask_folders(root, classifier, detector, trained, progress, grey)


def run(
    data: Path,
    min_size: int = 24,
    include_training: bool = False,
    progress: Progress | None = None,
    grey: bool = False,
) -> dict[str, Any]:
    """``kuzet eval masks``: check the layout first (``LayoutError``), then load the door's models and evaluate."""
    from models.faces.config import FaceDetectorConfig, MaskConfig
    from models.faces.detector import build_face_detector
    from models.faces.mask import build_mask_classifier, training_report_path

    check_mask_layout(data)
    config = MaskConfig()
    classifier = build_mask_classifier(config)
    detector = build_face_detector(FaceDetectorConfig())
    report = training_report_path(config)
    return evaluate_masks(data, classifier, detector, min_size, include_training, report, progress, grey)
