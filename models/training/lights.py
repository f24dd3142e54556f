"""Train the traffic-light state classifier on ``../shared/data/traffic/lights`` and export it to ONNX.

Usage: ``.venv/bin/python -m models.training.lights [--data DIR] [--out models/artifacts]``

Model: standardised crop features (``models.lights.preprocess``) -> multinomial logistic regression with balanced
class weights and extra weight on red (red read as green is the costly error in enforcement). The regularisation
strength is chosen by stratified 5-fold cross-validation on the train split only, scored by errors with red->green
counted ``RED_AS_GREEN_COST`` times; the test split is touched once, for the report. Seeded; about a minute on CPU.
Writes ``light_classifier.onnx`` and ``light_classifier_report.md`` / ``.json`` (data, split, figures, HSV baseline).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from models.lights import CLASSES, INPUTS, OUTPUTS, LightConfig, build_light_classifier
from models.lights.preprocess import N_FEATURES, crop_features
from models.runtime import sha256_file

logger = logging.getLogger(__name__)

SEED = 0
C_GRID = (0.01, 0.03, 0.1, 0.3)
RED_WEIGHT = 2.0
RED_AS_GREEN_COST = 5.0
REPO = Path(__file__).resolve().parents[2]


def load_split(root: Path, split: str) -> tuple[NDArray[np.float32], NDArray[np.int64], list[NDArray[np.uint8]]]:
    """Features, labels and images of one split (rows of ``labels.csv``); unreadable images are skipped."""
    feats: list[NDArray[np.float32]] = []
    labels: list[int] = []
    images: list[NDArray[np.uint8]] = []
    with (root / "labels.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("split", split) != split:
                continue
            raw = cv2.imread(str(root / row["image"]), cv2.IMREAD_COLOR)
            if raw is None:
                logger.warning("unreadable %s", row["image"])
                continue
            img = np.asarray(raw, dtype=np.uint8)
            feats.append(crop_features(img))
            labels.append(CLASSES.index(row["colour"]))
            images.append(img)
    return np.stack(feats), np.array(labels, dtype=np.int64), images


def sample_weights(y: NDArray[np.int64]) -> NDArray[np.float64]:
    """Balanced class weights, red multiplied by ``RED_WEIGHT``."""
    counts = np.bincount(y, minlength=len(CLASSES)).astype(np.float64)
    per_class = len(y) / (len(CLASSES) * np.maximum(counts, 1.0))
    per_class[CLASSES.index("red")] *= RED_WEIGHT
    return np.asarray(per_class[y])


def make_model(c: float) -> Pipeline:
    """Scaler + logistic regression."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000, random_state=SEED))


def cost(y: NDArray[np.int64], pred: NDArray[np.int64]) -> float:
    """Errors, with red predicted as green weighted ``RED_AS_GREEN_COST``."""
    red, green = CLASSES.index("red"), CLASSES.index("green")
    red_green = np.count_nonzero((y == red) & (pred == green))
    return float(np.count_nonzero(y != pred) + (RED_AS_GREEN_COST - 1.0) * red_green)


def choose_c(x: NDArray[np.float32], y: NDArray[np.int64]) -> tuple[float, dict[str, float]]:
    """Pick C by stratified 5-fold CV on the train split."""
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    scores: dict[str, float] = {}
    for c in C_GRID:
        total = 0.0
        for fit_idx, val_idx in folds.split(x, y):
            model = make_model(c)
            model.fit(x[fit_idx], y[fit_idx], logisticregression__sample_weight=sample_weights(y[fit_idx]))
            total += cost(y[val_idx], model.predict(x[val_idx]))
        scores[str(c)] = total
        logger.info("C=%s cv cost %.1f", c, total)
    best = min(C_GRID, key=lambda c: (scores[str(c)], c))  # ties: the stronger regularisation
    return best, scores


def hsv_baseline(img: NDArray[np.uint8]) -> int:
    """A hand-made HSV rule: bright saturated pixels counted per hue band (the baseline to beat)."""
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    lit = (hsv[..., 1] > 80) & (hsv[..., 2] > 120)
    hue = hsv[..., 0][lit]
    red = np.count_nonzero((hue < 10) | (hue > 160))
    yellow = np.count_nonzero((hue >= 10) & (hue < 35))
    green = np.count_nonzero((hue >= 35) & (hue <= 100))
    return int(np.argmax([red, yellow, green]))


def metrics(y: NDArray[np.int64], pred: NDArray[np.int64]) -> dict[str, Any]:
    """Accuracy, per-class recall and the confusion matrix (rows = truth, columns = prediction)."""
    matrix = np.zeros((len(CLASSES), len(CLASSES)), dtype=np.int64)
    np.add.at(matrix, (y, pred), 1)
    out: dict[str, Any] = {"n": len(y), "accuracy": float(np.mean(y == pred)), "confusion": matrix.tolist()}
    for k, name in enumerate(CLASSES):
        out[f"recall_{name}"] = float(matrix[k, k] / max(matrix[k].sum(), 1))
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
    proto.doc_string = "Kuzet traffic-light state classifier (models/training/lights.py)"
    onnx.checker.check_model(proto)
    path.write_bytes(proto.SerializeToString())


def run(data: Path, out_dir: Path) -> dict[str, Any]:
    """Train, export, evaluate through the ONNX artefact and write the report; returns the report dict."""
    started = time.perf_counter()
    x_tr, y_tr, _ = load_split(data, "train")
    x_te, y_te, img_te = load_split(data, "test")
    best_c, cv_scores = choose_c(x_tr, y_tr)
    model = make_model(best_c)
    model.fit(x_tr, y_tr, logisticregression__sample_weight=sample_weights(y_tr))
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / "light_classifier.onnx"
    export(model, onnx_path)
    labels, _ = build_light_classifier(LightConfig(model_path=onnx_path)).predict(img_te)
    pred = np.array([CLASSES.index(str(label)) if label in CLASSES else -1 for label in labels])
    report = {
        "data": _display(data),
        "train": {name: int(np.sum(y_tr == k)) for k, name in enumerate(CLASSES)},
        "test": {name: int(np.sum(y_te == k)) for k, name in enumerate(CLASSES)},
        "model": f"StandardScaler + LogisticRegression(C={best_c}), balanced weights, red x{RED_WEIGHT}",
        "cv_cost": cv_scores,
        "chosen_c": best_c,
        "onnx_test": metrics(y_te, pred),
        "sklearn_test": metrics(y_te, model.predict(x_te)),
        "hsv_baseline_test": metrics(y_te, np.array([hsv_baseline(i) for i in img_te])),
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


def render_report(r: dict[str, Any]) -> str:
    """Markdown training report."""
    rows = []
    for key, title in (("onnx_test", "ours (ONNX)"), ("hsv_baseline_test", "HSV rule baseline")):
        m = r[key]
        rows.append(
            f"| {title} | {m['n']} | {m['accuracy']:.4f} | {m['recall_red']:.4f} | {m['recall_yellow']:.4f}"
            f" | {m['recall_green']:.4f} | {m['confusion'][0][2]} |"
        )
    return "\n".join(
        [
            "# Traffic-light state classifier: training report",
            "",
            "Written by `models/training/lights.py` (seeded; rerun: `.venv/bin/python -m models.training.lights`).",
            "",
            f"- Data: `{r['data']}` (Udacity/MIT traffic-light crops, CC BY-SA 4.0; not redistributed here).",
            f"- Split: the dataset's own `split` column. Train {r['train']}, test {r['test']}.",
            f"- Model: {r['model']}; C chosen by stratified 5-fold CV on train only (cost = errors, red->green"
            f" x{RED_AS_GREEN_COST:g}): {r['cv_cost']} -> C = {r['chosen_c']}.",
            "- Features: 8x16 area-resized crop, per pixel V, S*V*cos(hue), S*V*sin(hue) and BGR/255.",
            f"- Artefact: `light_classifier.onnx`, {r['onnx_bytes']} bytes, sha256 `{r['onnx_sha256']}`.",
            f"- Training time: {r['train_seconds']} s on this CPU.",
            "",
            "## Test split (touched once)",
            "",
            "| model | n | accuracy | recall red | recall yellow | recall green | red->green |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"Confusion (rows truth, columns prediction, order {list(CLASSES)}): ours"
            f" {r['onnx_test']['confusion']}, HSV {r['hsv_baseline_test']['confusion']}.",
            "",
            "The issue's reference HSV rule scored 0.902 on this data; the HSV row above is our own simple rule.",
            "Yellow has only 9 test crops, so its recall moves 0.11 per crop. All crops are daylight, vertical,",
            "mostly US lights: night, horizontal or Kazakh signal heads are not measured.",
            "",
        ]
    )


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "traffic" / "lights")
    parser.add_argument("--out", type=Path, default=REPO / "models" / "artifacts")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    report = run(args.data, args.out)
    logger.info("test: %s", {k: v for k, v in report["onnx_test"].items() if k != "confusion"})
    logger.info("hsv baseline: %.4f", report["hsv_baseline_test"]["accuracy"])


if __name__ == "__main__":
    main()
