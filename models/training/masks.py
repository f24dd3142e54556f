"""Train the mask / no-mask face classifier and export it to ONNX.

    python -m models.training.masks --data ../shared/data --out models/artifacts

Data (see ../shared/data/README.md):
- ``masks/``: pasted surgical masks; faces are found by our CenterFace detector (largest face per image). The file
  names do not reliably pair photos (``0.jpg`` and ``0-with-mask.jpg`` can be different people; ``augmented_image_N``
  are rotated copies), so photos are grouped by content: dlib embeddings of the same person (cosine above
  ``--same-person``) and the README's ``N.jpg`` / ``N-with-mask.jpg`` pairs are joined, and whole groups go to one side.
- ``masks_real/``: real worn masks with given face boxes; split by image, with the README's near-duplicate photos
  kept together. ``mask_weared_incorrect`` counts as no mask (nose and mouth not covered).

Each source is split into train and test by group (seeded). Only the training crops are then augmented
(``models.training.masks_augment``: ``--copies`` dark / blurred / grey (IR) / low-resolution / night copies each, in
the group of their original) and mined for hard negatives: a first, quick head scores ``--hard-pool`` degraded
copies of every training no-mask face and the ones it calls "mask" join the training set as no-mask. Model choice
and the decision threshold come from grouped 5-fold cross-validation on that training set only (threshold: best
accuracy on real masks with recall of "no mask" at least ``--min-recall-no-mask``; colour on the original crops,
grey / IR on grey conversions of them that are never trained on). The final
head is fitted on all training crops. The test parts are never seen and never augmented; their figures (colour and
grey) go in the report, and the training files' hashes go in the report JSON so that ``kuzet eval masks`` on these
folders scores only the held-out files.

``--cache FILE`` keeps the detected crops of a first run (a local pickle under ``var/``) so a re-run skips the
detector and embedder; it is keyed by nothing but the path: delete it when the data change.
"""

from __future__ import annotations

import argparse
import json
import logging
import pickle
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from models.faces.mask import FEATURE_DIM, FEATURE_VERSION, MASK_INPUT, mask_features
from models.runtime import sha256_file
from models.training.masks_augment import degrade
from models.training.masks_data import CropSet, load_real, load_synthetic, split_groups, summarise
from models.training.masks_fit import (
    candidates,
    choose_model,
    export_onnx,
    fit_final,
    metrics,
    sample_weights,
    write_markdown,
)

logger = logging.getLogger(__name__)

HARD_KINDS = ("dark", "blur", "night", "lowres")  # what turns a bare face into a false "mask"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder holding masks/ and masks_real/")
    parser.add_argument("--out", type=Path, default=Path("models/artifacts"), help="where the ONNX file goes")
    parser.add_argument("--seed", type=int, default=20260, help="split and model seed")
    parser.add_argument("--test-fraction", type=float, default=0.2, help="groups held out for the test figures")
    parser.add_argument("--min-train-size", type=int, default=12, help="smallest masks_real face used (px)")
    parser.add_argument("--eval-size", type=int, default=24, help="smallest masks_real face scored (px)")
    parser.add_argument("--real-weight", type=float, default=2.0, help="sample weight of real masks vs pasted")
    parser.add_argument("--same-photo", type=float, default=0.97, help="embedding cosine joining masks/ copies")
    parser.add_argument("--min-recall-no-mask", type=float, default=0.85, help="threshold rule on CV")
    parser.add_argument("--copies", type=int, default=2, help="degraded copies of every training crop")
    parser.add_argument("--hard-pool", type=int, default=3, help="degraded copies per no-mask face mined (0: none)")
    parser.add_argument("--cache", type=Path, default=None, help="pickle of the detected crops (e.g. var/masks.pkl)")
    return parser.parse_args(argv)


@dataclass
class TrainSet:
    """Training features: originals, their degraded copies and the mined hard negatives.

    Attributes:
        x: (N, F) features. y: (N,) 1 = mask. groups: (N,) photo group (copies share their original's).
        is_real: (N,) from ``masks_real``. scored: (N,) rows the colour threshold is chosen on (original real
            faces of at least ``--eval-size`` px). kinds: (N,) ``original`` or the degradation's name.
    """

    x: NDArray[np.float32]
    y: NDArray[np.int64]
    groups: NDArray[Any]
    is_real: NDArray[np.bool_]
    scored: NDArray[np.bool_]
    kinds: NDArray[Any]

    def extend(self, other: TrainSet) -> TrainSet:
        """Both sets' rows, this one's first."""
        names = ("x", "y", "groups", "is_real", "scored", "kinds")
        return TrainSet(*(np.concatenate([getattr(self, n), getattr(other, n)]) for n in names))


def _rows(crops: list[NDArray[np.uint8]], labels: Any, groups: Any, real: bool, scored: Any, kinds: Any) -> TrainSet:
    n = len(crops)
    return TrainSet(
        mask_features(crops),
        np.asarray(labels, np.int64).reshape(n),
        np.asarray(groups).reshape(n),
        np.full(n, real),
        np.asarray(scored, bool).reshape(n),
        np.asarray(kinds).reshape(n),
    )


def training_set(
    parts: dict[str, CropSet], tests: dict[str, NDArray[np.bool_]], args: argparse.Namespace, rng: np.random.Generator
) -> TrainSet:
    """Training crops of every source plus ``args.copies`` degraded copies of each (never of a test crop)."""
    out: TrainSet | None = None
    for key, part in parts.items():
        rows = np.flatnonzero(~tests[key])
        real = key == "masks_real"
        crops = [part.crops[i] for i in rows]
        labels, groups = np.array(part.labels)[rows], np.array(part.groups)[rows]
        big = real & (np.array(part.sizes)[rows] >= args.eval_size)
        copies = [degrade(c, rng) for c in crops for _ in range(args.copies)]
        kinds = np.array([kind for _, kind in copies])
        repeat = np.repeat(np.arange(len(rows)), args.copies)
        both = _rows(crops, labels, groups, real, big, np.full(len(rows), "original")).extend(
            _rows([c for c, _ in copies], labels[repeat], groups[repeat], real, np.zeros(len(copies), bool), kinds)
        )
        out = both if out is None else out.extend(both)
    assert out is not None
    return out


def hard_negatives(
    train: TrainSet, parts: dict[str, CropSet], tests: dict[str, NDArray[np.bool_]], args: argparse.Namespace
) -> TrainSet:
    """Degraded copies of training no-mask faces that a quick head (``logreg_c0.02``) calls "mask"."""
    rng = np.random.default_rng(args.seed + 1)
    quick = candidates(args.seed)["logreg_c0.02"]()
    quick.fit(train.x, train.y, logisticregression__sample_weight=sample_weights(train.y, train.is_real, 1.0))
    crops: list[NDArray[np.uint8]] = []
    groups: list[str] = []
    real: list[bool] = []
    kinds: list[str] = []
    for key, part in parts.items():
        for i in np.flatnonzero(~tests[key] & (np.array(part.labels) == 0)).tolist():
            for _ in range(args.hard_pool):
                crop, kind = degrade(part.crops[i], rng, HARD_KINDS[int(rng.integers(len(HARD_KINDS)))])
                crops.append(crop)
                groups.append(part.groups[i])
                real.append(key == "masks_real")
                kinds.append(f"hard_{kind}")
    x = mask_features(crops)
    hard = quick.predict_proba(x)[:, 1] >= 0.5
    logger.info("hard negatives: %d of %d degraded no-mask copies called mask", int(hard.sum()), len(crops))
    n = int(hard.sum())
    return TrainSet(
        x[hard],
        np.zeros(n, np.int64),
        np.array(groups)[hard],
        np.array(real)[hard],
        np.zeros(n, bool),
        np.array(kinds)[hard],
    )


def grey_copies(crops: list[NDArray[np.uint8]]) -> list[NDArray[np.uint8]]:
    """The crops as an IR / night-mode camera gives them: one luma channel in three (as ``kuzet eval masks --grey``)."""
    return [
        np.asarray(cv2.cvtColor(cv2.cvtColor(c, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR), np.uint8) if c.size else c
        for c in crops
    ]


def grey_probe(
    parts: dict[str, CropSet], tests: dict[str, NDArray[np.bool_]], args: argparse.Namespace
) -> tuple[NDArray[np.float32], NDArray[np.int64], NDArray[Any]]:
    """Features, labels and groups of the scored real training faces converted to grey (never trained on): the
    rows the grey (IR) threshold is chosen on."""
    real = parts["masks_real"]
    rows = np.flatnonzero(~tests["masks_real"] & (np.array(real.sizes) >= args.eval_size))
    crops = grey_copies([real.crops[i] for i in rows])
    return mask_features(crops), np.array(real.labels, np.int64)[rows], np.array(real.groups)[rows]


@dataclass
class Fitted:
    """The trained head, its choice record and the held-out figures."""

    model: Any
    choice: Any
    test_figures: dict[str, dict[str, float]]
    labels: dict[str, NDArray[Any]]
    train_kinds: dict[str, int]


def fit_and_test(parts: dict[str, CropSet], tests: dict[str, NDArray[np.bool_]], args: argparse.Namespace) -> Fitted:
    """Augment, mine hard negatives, choose and fit the head on the training groups; score the held-out groups."""
    train = training_set(parts, tests, args, np.random.default_rng(args.seed))
    if args.hard_pool:
        train = train.extend(hard_negatives(train, parts, tests, args))
    choice = choose_model(
        train.x, train.y, train.groups, train.is_real, train.scored, args, grey_probe(parts, tests, args)
    )
    model = fit_final(choice, train.x, train.y, train.is_real, args)
    figures: dict[str, dict[str, float]] = {}
    y = {k: np.array(v.labels) for k, v in parts.items()}
    for key, part in parts.items():
        held = np.flatnonzero(tests[key] & (np.array(part.sizes) >= (args.eval_size if key == "masks_real" else 0)))
        crops = [part.crops[i] for i in held]
        for suffix, shown, threshold in (
            ("", crops, choice.threshold),
            ("_grey", grey_copies(crops), choice.threshold_grey),
        ):
            probs = model.predict_proba(mask_features(shown))[:, 1]
            figures[key + suffix] = metrics(probs, y[key][held], threshold)
    logger.info("fitted %s on %s", choice.name, Counter(train.kinds.tolist()))
    return Fitted(model, choice, figures, y, dict(Counter(train.kinds.tolist())))


def write_outputs(
    fitted: Fitted,
    parts: dict[str, CropSet],
    tests: dict[str, NDArray[np.bool_]],
    no_face: int,
    args: argparse.Namespace,
) -> None:
    """The ONNX file, the JSON report (with the training files' hashes) and its Markdown summary."""
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "mask_classifier.onnx"
    metadata = {
        "feature_version": FEATURE_VERSION,
        "threshold": f"{fitted.choice.threshold:.4f}",
        "threshold_grey": f"{fitted.choice.threshold_grey:.4f}",
        "input": MASK_INPUT,
    }
    export_onnx(fitted.model, FEATURE_DIM, onnx_path, metadata)
    train_hashes = sorted({h for k, v in parts.items() for h, t in zip(v.hashes, tests[k], strict=True) if not t})
    test_hashes = {h for k, v in parts.items() for h, t in zip(v.hashes, tests[k], strict=True) if t}
    report = {
        "model": fitted.choice.name,
        "feature_version": FEATURE_VERSION,
        "threshold": fitted.choice.threshold,
        "threshold_grey": fitted.choice.threshold_grey,
        "seed": args.seed,
        "onnx_sha256": sha256_file(onnx_path),
        "data": {k: {**summarise(fitted.labels[k], tests[k]), "groups": len(set(v.groups))} for k, v in parts.items()},
        "masks_no_face": no_face,
        "cv": fitted.choice.cv,
        "train_rows_by_kind": fitted.train_kinds,
        "test": fitted.test_figures,
        "train_sha256_prefixes": train_hashes,
        "test_sha256_prefixes": sorted(test_hashes - set(train_hashes)),
        "args": {k: str(v) for k, v in vars(args).items() if k not in ("data", "cache", "out")},
    }
    (args.out / "mask_classifier_report.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    write_markdown(report, args.out / "mask_classifier_report.md")
    logger.info("test figures: %s", json.dumps(fitted.test_figures))
    logger.info("wrote %s (%s)", onnx_path, fitted.choice.name)


def load_sources(args: argparse.Namespace) -> tuple[CropSet, int, CropSet]:
    """(masks/ crops, masks/ images without a face, masks_real/ crops), from ``--cache`` when it exists."""
    if args.cache is not None and args.cache.is_file():
        logger.info("crops from the cache %s", args.cache)
        with args.cache.open("rb") as handle:
            cached: dict[str, Any] = pickle.load(handle)  # our own local cache file: plain lists and numbers
        return CropSet(**cached["synthetic"]), int(cached["no_face"]), CropSet(**cached["real"])
    synthetic, no_face = load_synthetic(args.data / "masks", args.same_photo)
    real = load_real(args.data / "masks_real", args.min_train_size)
    logger.info(
        "crops: %d from masks/ (%d without a face), %d from masks_real/", len(synthetic.crops), no_face, len(real.crops)
    )
    if args.cache is not None:
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        with args.cache.open("wb") as handle:
            pickle.dump({"synthetic": vars(synthetic), "no_face": no_face, "real": vars(real)}, handle)
    return synthetic, no_face, real


def main(argv: list[str] | None = None) -> None:
    """Train, evaluate on the held-out groups, export ONNX and write the report."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args = parse_args(argv)
    synthetic, no_face, real = load_sources(args)
    parts = {"masks": synthetic, "masks_real": real}
    tests = {k: split_groups(v.groups, args.test_fraction, args.seed) for k, v in parts.items()}
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # scikit-learn's own dependency

    with threadpool_limits(limits=1):  # one BLAS thread: the same weights (and file) on every machine, a shared CPU
        write_outputs(fit_and_test(parts, tests, args), parts, tests, no_face, args)


if __name__ == "__main__":
    main()
