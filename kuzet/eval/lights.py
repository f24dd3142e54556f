"""``kuzet eval lights``: traffic-light state accuracy of the committed classifier on signal-head crops
(``labels.csv`` with ``image,colour[,split]``; only the rows with ``split == test`` when that column exists).

``colour`` is ``red``, ``yellow``, ``green`` or ``off`` (no lamp lit, or no signal head at all). On an ``off`` row
the classifier is right when it says ``off`` or ``unknown`` (either way no signal state is enforced); on a lit row
``unknown`` is an error. ``recall_off`` is reported when the folder has ``off`` rows (EVAL.md).
``kuzet devset lights-off`` writes a folder of real negatives in this layout."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from kuzet.eval.common import LayoutError, Progress, load_image

COLOURS = ("red", "yellow", "green", "off")
NO_SIGNAL = ("off", "unknown")
"""Predictions that are right on an ``off`` row."""


def read_light_labels(data: Path) -> list[tuple[str, str]]:
    """``(image, colour)`` rows to evaluate: the test split when a ``split`` column exists, else every row.

    Raises:
        LayoutError: one line saying what the folder lacks.
    """
    labels = data / "labels.csv"
    if not data.is_dir():
        raise LayoutError(f"{data} is not a folder")
    if not labels.is_file():
        raise LayoutError(f"{data} has no labels.csv (expected columns image,colour[,split])")
    with labels.open(newline="") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        if not {"image", "colour"} <= columns:
            raise LayoutError(f"{labels} needs columns image and colour, has {sorted(columns)}")
        rows = [r for r in reader if "split" not in columns or r["split"] == "test"]
    bad = [r["colour"] for r in rows if r["colour"] not in COLOURS]
    if bad:
        raise LayoutError(f"{labels}: colour must be one of {list(COLOURS)}, found {bad[0]!r}")
    if not rows:
        raise LayoutError(f"{labels} has no rows to evaluate (split == test when the split column exists)")
    return [(r["image"], r["colour"]) for r in rows]


def evaluate_lights(data: Path, rows: list[tuple[str, str]], progress: Progress | None = None) -> dict[str, Any]:
    """Run the committed classifier over the rows; unreadable images count as errors."""
    import numpy as np

    from models.lights import build_light_classifier

    classifier = build_light_classifier()
    truth: list[str] = []
    predicted: list[str] = []
    unreadable = 0
    elapsed = 0.0
    for number, (image, colour) in enumerate(rows, start=1):
        crop = load_image(data / image)
        truth.append(colour)
        if crop is None:
            unreadable += 1
            predicted.append("unreadable")
            continue
        started = time.perf_counter()
        labels, _ = classifier.predict([np.asarray(crop, dtype=np.uint8)])
        elapsed += time.perf_counter() - started
        predicted.append(str(labels[0]))
        if progress and number % 100 == 0:
            progress(f"lights: {number}/{len(rows)}")
    y, p = np.array(truth), np.array(predicted)
    right = (y == p) | ((y == "off") & np.isin(p, NO_SIGNAL))
    result: dict[str, Any] = {"n": len(rows), "accuracy": float(np.mean(right)), "unreadable": unreadable}
    for colour in COLOURS:
        mask = y == colour
        if colour == "off" and not mask.any():
            continue  # recall_off only when the folder has off rows
        result[f"recall_{colour}"] = float(np.mean(right[mask])) if mask.any() else None
        result[f"n_{colour}"] = int(mask.sum())
    result["red_as_green"] = int(np.sum((y == "red") & (p == "green")))
    result["confusion"] = {
        t: {q: int(np.sum((y == t) & (p == q))) for q in sorted(set(p))} for t in COLOURS if np.any(y == t)
    }
    result["ms_per_crop"] = 1000.0 * elapsed / max(len(rows) - unreadable, 1)
    return result


def run(data: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Read the labels (``LayoutError`` when the folder lacks the layout) and evaluate the classifier on them."""
    rows = read_light_labels(data)
    if progress:
        progress(f"lights: evaluating {len(rows)} crops from {data}")
    return evaluate_lights(data, rows, progress)
