"""Train the traffic-light state classifier (red / yellow / green / off) on real crops and export it to ONNX.

Usage: ``.venv/bin/python -m models.training.lights [--traffic DIR] [--out models/artifacts]``

Data: the lit heads of ``../shared/data/traffic/lights`` (its own train/test split) and the real ``off`` negatives
of ``models.training.lights_negatives`` (unlit head sections, road video, car photos, plates, night/dusk), whose
test negatives come from files never used in training.

Model: standardised crop features (``models.lights.preprocess``) -> a multinomial logistic regression or a
one-hidden-layer MLP, trained with balanced class weights and extra weight on red (red read as green is the costly
error in enforcement). The train split is cut into fit (80 %) and validation (20 %, stratified): the candidate
(``CANDIDATES``) is chosen on the validation cost (errors, red->green counted ``RED_AS_GREEN_COST`` times), then a
temperature T is fitted on the validation set by minimising the negative log-likelihood and folded into the last
linear layer (softmax(z / T) = softmax((W / T) h + b / T)), so the probabilities the ONNX file returns are
calibrated and a low top probability reads ``unknown``. The test split is
touched once, for the report. Seeded; about a minute on CPU. Writes ``light_classifier.onnx`` and
``light_classifier_report.md`` / ``.json``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import logging
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from models.lights import CLASSES, INPUTS, OUTPUTS, LightConfig, build_light_classifier
from models.lights.preprocess import N_FEATURES, batch_features
from models.runtime import sha256_file
from models.training.lights_negatives import build_negatives
from models.training.lights_report import render_report

logger = logging.getLogger(__name__)

SEED = 0
CANDIDATES: dict[str, dict[str, Any]] = {
    "logreg C=0.1": {"kind": "logreg", "C": 0.1},
    "logreg C=0.3": {"kind": "logreg", "C": 0.3},
    "mlp 32 alpha=0.001": {"kind": "mlp", "hidden": 32, "alpha": 1e-3},
    "mlp 32 alpha=0.1": {"kind": "mlp", "hidden": 32, "alpha": 0.1},
    "mlp 64 alpha=0.001": {"kind": "mlp", "hidden": 64, "alpha": 1e-3},
    "mlp 64 alpha=0.1": {"kind": "mlp", "hidden": 64, "alpha": 0.1},
}
RED_WEIGHT = 2.0
RED_AS_GREEN_COST = 5.0
VALIDATION_SHARE = 0.2
REPO = Path(__file__).resolve().parents[2]
OFF = CLASSES.index("off")

Images = list[NDArray[np.uint8]]


def load_lit(root: Path, split: str) -> tuple[Images, NDArray[np.int64], list[str]]:
    """Images, labels and shapes of one split of the lights folder; unreadable images are skipped."""
    images: Images = []
    labels: list[int] = []
    shapes: list[str] = []
    with (root / "labels.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("split", split) != split:
                continue
            raw = cv2.imread(str(root / row["image"]), cv2.IMREAD_COLOR)
            if raw is None:
                logger.warning("unreadable %s", row["image"])
                continue
            images.append(np.asarray(raw, dtype=np.uint8))
            labels.append(CLASSES.index(row["colour"]))
            shapes.append(row.get("shape", "round"))
    return images, np.array(labels, dtype=np.int64), shapes


def load_split(traffic: Path, split: str) -> tuple[Images, NDArray[np.int64], list[str]]:
    """Lit heads and real negatives of one split: images, labels, and a source tag per image."""
    images, labels, shapes = load_lit(traffic / "lights", split)
    negatives = build_negatives(traffic, split, seed=SEED)
    tags = [f"lit:{s}" for s in shapes] + [n.source.split(":")[0] for n in negatives]
    y = np.concatenate([labels, np.full(len(negatives), OFF, dtype=np.int64)])
    return images + [n.crop for n in negatives], y, tags


def sample_weights(y: NDArray[np.int64]) -> NDArray[np.float64]:
    """Balanced class weights, red multiplied by ``RED_WEIGHT``."""
    counts = np.bincount(y, minlength=len(CLASSES)).astype(np.float64)
    per_class = len(y) / (len(CLASSES) * np.maximum(counts, 1.0))
    per_class[CLASSES.index("red")] *= RED_WEIGHT
    return np.asarray(per_class[y])


def make_model(spec: dict[str, Any]) -> Pipeline:
    """Scaler + logistic regression or MLP, as a ``CANDIDATES`` entry says."""
    if spec["kind"] == "logreg":
        return make_pipeline(StandardScaler(), LogisticRegression(C=spec["C"], max_iter=3000, random_state=SEED))
    mlp = MLPClassifier((spec["hidden"],), alpha=spec["alpha"], max_iter=400, early_stopping=True, random_state=SEED)
    return make_pipeline(StandardScaler(), mlp)


def fold_temperature(model: Pipeline, temperature: float) -> None:
    """Divide the last linear layer's weights and bias by T (the logits scale by 1/T)."""
    head = model[-1]
    if isinstance(head, LogisticRegression):
        head.coef_ = head.coef_ / temperature
        head.intercept_ = head.intercept_ / temperature
    else:
        head.coefs_[-1] = head.coefs_[-1] / temperature
        head.intercepts_[-1] = head.intercepts_[-1] / temperature


def cost(y: NDArray[np.int64], pred: NDArray[np.int64]) -> float:
    """Errors, with red predicted as green weighted ``RED_AS_GREEN_COST``."""
    red, green = CLASSES.index("red"), CLASSES.index("green")
    red_green = np.count_nonzero((y == red) & (pred == green))
    return float(np.count_nonzero(y != pred) + (RED_AS_GREEN_COST - 1.0) * red_green)


def fit_temperature(logits: NDArray[np.float64], y: NDArray[np.int64]) -> float:
    """The temperature T minimising the validation negative log-likelihood of softmax(logits / T)."""

    def nll(t: float) -> float:
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-log_p[np.arange(len(y)), y].mean())

    return float(minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded").x)


def expected_calibration_error(probs: NDArray[np.float64], y: NDArray[np.int64], bins: int = 10) -> float:
    """ECE of the top-class probability over equal-width confidence bins."""
    conf, correct = probs.max(axis=1), probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - conf[inside].mean())
    return float(total)


def fit(x: NDArray[np.float32], y: NDArray[np.int64]) -> tuple[Pipeline, dict[str, Any]]:
    """Choose the candidate on the validation cut, fit T there, fold it into the weights; returns the model and
    the figures."""
    x_fit, x_val, y_fit, y_val = train_test_split(x, y, test_size=VALIDATION_SHARE, stratify=y, random_state=SEED)
    models: dict[str, Pipeline] = {}
    scores: dict[str, float] = {}
    for name, spec in CANDIDATES.items():
        models[name] = make_model(spec)
        step = models[name].steps[-1][0]
        models[name].fit(x_fit, y_fit, **{f"{step}__sample_weight": sample_weights(y_fit)})
        scores[name] = cost(y_val, models[name].predict(x_val))
        logger.info("%s: validation cost %.1f", name, scores[name])
    best = min(CANDIDATES, key=lambda name: scores[name])  # ties: the first (simplest) candidate
    model = models[best]
    before = model.predict_proba(x_val)
    logits = np.log(np.clip(before, 1e-12, None))  # log-probabilities: the logits up to a per-row constant
    temperature = fit_temperature(logits, y_val)
    fold_temperature(model, temperature)
    after = model.predict_proba(x_val)
    figures = {
        "n_fit": len(y_fit),
        "n_validation": len(y_val),
        "validation_cost": scores,
        "chosen": best,
        "temperature": round(temperature, 4),
        "validation_ece_before": round(expected_calibration_error(before, y_val), 4),
        "validation_ece_after": round(expected_calibration_error(after, y_val), 4),
    }
    return model, figures


def metrics(y: NDArray[np.int64], labels: NDArray[np.str_]) -> dict[str, Any]:
    """Accuracy (``unknown`` is right only for ``off``), per-class recall, red->green and the confusion table."""
    truth = np.array([CLASSES[k] for k in y])
    right = (labels == truth) | ((truth == "off") & (labels == "unknown"))
    out: dict[str, Any] = {"n": len(y), "accuracy": float(np.mean(right)) if len(y) else 0.0}
    for name in CLASSES:
        mask = truth == name
        out[f"recall_{name}"] = float(np.mean(right[mask])) if mask.any() else None
    out["red_as_green"] = int(np.sum((truth == "red") & (labels == "green")))
    names = [*CLASSES, "unknown"]
    out["confusion"] = [[int(np.sum((truth == t) & (labels == p))) for p in names] for t in CLASSES]
    return out


def export(model: Pipeline, path: Path) -> None:
    """skl2onnx export with a single probability output and the class list in the metadata."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    proto = to_onnx(
        model,
        initial_types=[(INPUTS[0], FloatTensorType([None, N_FEATURES]))],
        options={id(model): {"zipmap": False}},
        target_opset=17,
    )
    names = [o.name for o in proto.graph.output]
    if OUTPUTS[0] not in names:
        raise RuntimeError(f"exported outputs {names} lack {OUTPUTS[0]!r}")
    proto.graph.name = "kuzet_light_classifier"  # skl2onnx uses a random UUID: keep the file reproducible
    meta = proto.metadata_props.add()
    meta.key, meta.value = "classes", ",".join(CLASSES)
    proto.doc_string = "Kuzet traffic-light state classifier (models/training/lights.py), temperature-calibrated"
    onnx.checker.check_model(proto)
    path.write_bytes(proto.SerializeToString())


def by_tag(y: NDArray[np.int64], labels: NDArray[np.str_], tags: list[str]) -> dict[str, dict[str, Any]]:
    """Accuracy per source tag (lit round/arrow heads, and each kind of negative)."""
    arr = np.array(tags)
    return {
        t: {"n": int(np.sum(arr == t)), "accuracy": metrics(y[arr == t], labels[arr == t])["accuracy"]}
        for t in sorted(set(tags))
    }


def run(traffic: Path, out_dir: Path) -> dict[str, Any]:
    """Train, export, evaluate through the ONNX artefact and write the report; returns the report dict."""
    started = time.perf_counter()
    img_tr, y_tr, _ = load_split(traffic, "train")
    img_te, y_te, tags_te = load_split(traffic, "test")
    model, figures = fit(batch_features(img_tr), y_tr)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / "light_classifier.onnx"
    export(model, onnx_path)
    config = LightConfig(model_path=onnx_path)
    labels, _ = build_light_classifier(config).predict(img_te)
    lit = y_te != OFF
    report = {
        "data": _display(traffic),
        "train": {name: int(np.sum(y_tr == k)) for k, name in enumerate(CLASSES)},
        "test": {name: int(np.sum(y_te == k)) for k, name in enumerate(CLASSES)},
        "model": f"StandardScaler + {figures['chosen']}, balanced weights, red x{RED_WEIGHT}",
        "min_confidence": config.min_confidence,
        **figures,
        "test_lit": metrics(y_te[lit], labels[lit]),
        "test_off": metrics(y_te[~lit], labels[~lit]),
        "test_all": metrics(y_te, labels),
        "test_by_source": by_tag(y_te, labels, tags_te),
        "onnx_sha256": sha256_file(onnx_path),
        "onnx_bytes": onnx_path.stat().st_size,
        "seed": SEED,
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    (out_dir / "light_classifier_report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / "light_classifier_report.md").write_text(render_report(report))
    return report


def _display(path: Path) -> str:
    """Path relative to the repository's parent when possible (no machine-specific prefix in the report)."""
    resolved = path.resolve()
    return f"../{resolved.relative_to(REPO.parent)}" if resolved.is_relative_to(REPO.parent) else str(path)


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--traffic", type=Path, default=REPO.parent / "shared" / "data" / "traffic")
    parser.add_argument("--out", type=Path, default=REPO / "models" / "artifacts")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    report = run(args.traffic, args.out)
    for key in ("test_lit", "test_off"):
        logger.info("%s: %s", key, {k: v for k, v in report[key].items() if k != "confusion"})


if __name__ == "__main__":
    main()
