"""Model choice, threshold rule, final fit and ONNX export for ``models.training.masks``."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.01), 2)


def candidates(seed: int) -> dict[str, Callable[[], Any]]:
    """Candidate heads (scaler + classifier), built fresh for every fold."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "logreg_c0.02": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=0.02, max_iter=3000)),
        "logreg_c0.2": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=0.2, max_iter=3000)),
        "mlp128_a1": lambda: make_pipeline(
            StandardScaler(),
            MLPClassifier((128,), alpha=1.0, max_iter=400, random_state=seed),
        ),
    }


def sample_weights(labels: NDArray[Any], is_real: NDArray[np.bool_], real_weight: float) -> NDArray[np.float64]:
    """Balanced class weights within each source, real masks weighted ``real_weight`` times more."""
    weights = np.ones(len(labels))
    for source in (False, True):
        in_source = is_real == source
        for value in (0, 1):
            chosen = in_source & (labels == value)
            if chosen.any():
                weights[chosen] = in_source.sum() / (2.0 * chosen.sum())
    out: NDArray[np.float64] = weights * np.where(is_real, real_weight, 1.0)
    return out


def metrics(probs: NDArray[Any], labels: NDArray[Any], threshold: float) -> dict[str, float]:
    """Accuracy and per-class recall at ``threshold`` (1 = mask)."""
    predicted = probs >= threshold
    mask, no_mask = labels == 1, labels == 0
    recall_mask = float(predicted[mask].mean()) if mask.any() else 0.0
    recall_no_mask = float((~predicted[no_mask]).mean()) if no_mask.any() else 0.0
    return {
        "n": len(labels),
        "accuracy": float((predicted == mask).mean()) if len(labels) else 0.0,
        "recall_mask": recall_mask,
        "recall_no_mask": recall_no_mask,
        "precision_mask": float(mask[predicted].mean()) if predicted.any() else 0.0,
        "balanced_accuracy": (recall_mask + recall_no_mask) / 2,
    }


def pick_threshold(probs: NDArray[Any], labels: NDArray[Any], min_recall_no_mask: float) -> float:
    """Best-accuracy threshold keeping recall of "no mask" >= the floor (else best balanced accuracy)."""
    table = [metrics(probs, labels, float(t)) for t in THRESHOLDS]
    allowed = [i for i, m in enumerate(table) if m["recall_no_mask"] >= min_recall_no_mask]
    if allowed:
        best = max(allowed, key=lambda i: (table[i]["accuracy"], table[i]["balanced_accuracy"]))
    else:
        best = max(range(len(table)), key=lambda i: table[i]["balanced_accuracy"])
    return float(THRESHOLDS[best])


@dataclass
class Choice:
    """The chosen head, its threshold and the cross-validation figures of every candidate."""

    name: str
    threshold: float
    threshold_grey: float
    cv: dict[str, dict[str, float]]
    make: Callable[[], Any]


def choose_model(
    x: NDArray[np.float32],
    y: NDArray[Any],
    groups: NDArray[Any],
    is_real: NDArray[np.bool_],
    scored: NDArray[np.bool_],
    args: argparse.Namespace,
    grey_probe: tuple[NDArray[np.float32], NDArray[Any], NDArray[Any]] | None = None,
) -> Choice:
    """Grouped 5-fold CV on the training part: out-of-fold P(mask) -> thresholds -> accuracy on real faces.

    Colour faces and grey ones (an IR / night-mode camera; the camera's mode is known from its frames) get their
    own threshold, each by the ``pick_threshold`` rule: colour on the ``scored`` rows, grey on ``grey_probe``
    (features, labels, groups of the scored faces converted to grey, never trained on), each probe scored by the
    fold model that did not see its group.
    """
    from sklearn.model_selection import GroupKFold

    weights = sample_weights(y, is_real, args.real_weight)
    results: dict[str, dict[str, float]] = {}
    makers = candidates(args.seed)
    for name, make in makers.items():
        oof = np.zeros(len(y))
        px, py, pg = grey_probe if grey_probe is not None else (x[scored], y[scored], groups[scored])
        probe = np.zeros(len(py))
        for train, held in GroupKFold(n_splits=5).split(x, y, groups):
            model = make()
            model.fit(x[train], y[train], **{model.steps[-1][0] + "__sample_weight": weights[train]})
            oof[held] = model.predict_proba(x[held])[:, 1]
            in_fold = np.isin(pg, groups[held])
            if in_fold.any():
                probe[in_fold] = model.predict_proba(px[in_fold])[:, 1]
        threshold = pick_threshold(oof[scored], y[scored], args.min_recall_no_mask)
        threshold_grey = pick_threshold(probe, py, args.min_recall_no_mask)
        results[name] = {
            "threshold": threshold,
            "threshold_grey": threshold_grey,
            **{f"real_{k}": v for k, v in metrics(oof[scored], y[scored], threshold).items()},
            **{f"real_grey_{k}": v for k, v in metrics(probe, py, threshold_grey).items()},
            **{f"masks_{k}": v for k, v in metrics(oof[~is_real], y[~is_real], threshold).items()},
        }
        logger.info("cv %s: %s", name, results[name])
    best = max(
        results,
        key=lambda n: results[n]["real_accuracy"] + results[n]["real_grey_accuracy"] + results[n]["masks_accuracy"],
    )
    return Choice(best, results[best]["threshold"], results[best]["threshold_grey"], results, makers[best])


def fit_final(
    choice: Choice, x: NDArray[np.float32], y: NDArray[Any], is_real: NDArray[np.bool_], args: argparse.Namespace
) -> Any:
    """Fit the chosen head on every training crop."""
    model = choice.make()
    weights = sample_weights(y, is_real, args.real_weight)
    model.fit(x, y, **{model.steps[-1][0] + "__sample_weight": weights})
    return model


def export_onnx(model: Any, dim: int, path: Path, metadata: dict[str, str]) -> None:
    """Convert the fitted pipeline to ONNX (input ``metadata['input']`` (N, dim) float32, output
    ``probabilities`` (N, 2)) with ``metadata`` stored in the model."""
    import onnx
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    graph = convert_sklearn(
        model,
        initial_types=[(metadata["input"], FloatTensorType([None, dim]))],
        options={id(model.steps[-1][1]): {"zipmap": False}},
        target_opset=17,
    )
    graph.graph.name = "kuzet_mask_classifier"  # skl2onnx names graphs with a random UUID: keep the file reproducible
    for key, value in metadata.items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(graph)
    path.write_bytes(graph.SerializeToString())


def _row(name: str, figures: dict[str, Any]) -> str:
    keys = ("n", "accuracy", "recall_mask", "recall_no_mask", "precision_mask")
    return f"| {name} | " + " | ".join(f"{figures[k]:.4f}" if k != "n" else str(figures[k]) for k in keys) + " |"


def write_markdown(report: dict[str, Any], path: Path) -> None:
    """Human-readable summary of the training report (the JSON next to it holds everything)."""
    lines = [
        "# Mask classifier: training report",
        "",
        "Written by `python -m models.training.masks` (seeded; regenerate with `make train`).",
        "",
        f"- Model: `{report['model']}` on `{report['feature_version']}` features; threshold {report['threshold']:.2f}"
        f" on P(mask) for colour faces and {report['threshold_grey']:.2f} for grey (IR / night-mode) ones, each"
        " chosen by grouped 5-fold cross-validation on the training part (best accuracy on real masks of that kind"
        f" with recall of no-mask >= {report['args']['min_recall_no_mask']}).",
        f"- Training copies: {report['args']['copies']} degraded (dark, blur, grey, low-res, night) per training crop;"
        f" hard negatives mined from {report['args']['hard_pool']} degraded copies per no-mask face"
        f" ({', '.join(f'{k} {v}' for k, v in sorted(report['train_rows_by_kind'].items()))} rows).",
        "- A face too small, dark, flat or blurred to judge is answered `unknown` at run time (`MaskConfig`).",
        "- `mask_weared_incorrect` counts as no mask. Real-mask figures are on boxes with a short side of at least"
        f" {report['args']['eval_size']} px.",
        f"- masks/: faces found by CenterFace in all but {report['masks_no_face']} images; split by photo group"
        " (same-photo copies joined by dlib embedding similarity and the README's file pairs).",
        "- masks_real/: split by image, README near-duplicates kept together.",
        "",
        "## Data and split (face crops)",
        "",
        "| source | groups | train mask | train no mask | test mask | test no mask |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for source, d in report["data"].items():
        lines.append(
            f"| {source} | {d['groups']} | {d['train_mask']} | {d['train_no_mask']} | {d['test_mask']}"
            f" | {d['test_no_mask']} |"
        )
    lines += [
        "",
        "## Held-out test figures (never seen in training or model choice)",
        "",
        "| source | n | accuracy | recall mask | recall no mask | precision mask |",
        "| --- | --- | --- | --- | --- | --- |",
        *(_row(source, figures) for source, figures in report["test"].items()),
        "",
        "## Cross-validation of the candidates (training part, out-of-fold)",
        "",
        "| model | threshold colour / grey | real accuracy | real recall no mask | real grey accuracy"
        " | real grey recall no mask | masks/ accuracy |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *(
            f"| {name} | {cv['threshold']:.2f} / {cv['threshold_grey']:.2f} | {cv['real_accuracy']:.4f}"
            f" | {cv['real_recall_no_mask']:.4f} | {cv['real_grey_accuracy']:.4f}"
            f" | {cv['real_grey_recall_no_mask']:.4f}"
            f" | {cv['masks_accuracy']:.4f} |"
            for name, cv in report["cv"].items()
        ),
        "",
        "`kuzet eval masks` leaves out the files listed (by SHA-256 prefix) in `mask_classifier_report.json` under"
        " `train_sha256_prefixes`, so on these two folders it scores exactly the held-out test split.",
        "",
    ]
    path.write_text("\n".join(lines))
