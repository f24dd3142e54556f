"""Violations area: ``kuzet eval lights``, ``kuzet evidence verify``, and the demo hook ``demo_violations``."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import click

from kuzet.commands import eval_group
from kuzet.commands.common import emit_json, fail, progress

COLOURS = ("red", "yellow", "green")


def read_light_labels(data: Path) -> list[tuple[str, str]]:
    """``(image, colour)`` rows to evaluate: the test split when a ``split`` column exists, else every row.

    Exits 2 with one line when the folder lacks the layout.
    """
    labels = data / "labels.csv"
    if not data.is_dir():
        fail(f"{data} is not a folder")
    if not labels.is_file():
        fail(f"{data} has no labels.csv (expected columns image,colour[,split])")
    with labels.open(newline="") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        if not {"image", "colour"} <= columns:
            fail(f"{labels} needs columns image and colour, has {sorted(columns)}")
        rows = [r for r in reader if "split" not in columns or r["split"] == "test"]
    bad = [r["colour"] for r in rows if r["colour"] not in COLOURS]
    if bad:
        fail(f"{labels}: colour must be one of {list(COLOURS)}, found {bad[0]!r}")
    if not rows:
        fail(f"{labels} has no rows to evaluate (split == test when the split column exists)")
    return [(r["image"], r["colour"]) for r in rows]


def evaluate_lights(data: Path, rows: list[tuple[str, str]]) -> dict[str, Any]:
    """Run the committed classifier over the rows; unreadable images count as errors."""
    import cv2
    import numpy as np

    from models.lights import load_light_classifier

    classifier = load_light_classifier()
    truth: list[str] = []
    predicted: list[str] = []
    unreadable = 0
    elapsed = 0.0
    for number, (image, colour) in enumerate(rows, start=1):
        crop = cv2.imread(str(data / image), cv2.IMREAD_COLOR)
        truth.append(colour)
        if crop is None:
            unreadable += 1
            predicted.append("unreadable")
            continue
        started = time.perf_counter()
        labels, _ = classifier.predict([np.asarray(crop, dtype=np.uint8)])
        elapsed += time.perf_counter() - started
        predicted.append(str(labels[0]))
        if number % 100 == 0:
            progress(f"lights: {number}/{len(rows)}")
    y, p = np.array(truth), np.array(predicted)
    result: dict[str, Any] = {"n": len(rows), "accuracy": float(np.mean(y == p)), "unreadable": unreadable}
    for colour in COLOURS:
        mask = y == colour
        result[f"recall_{colour}"] = float(np.mean(p[mask] == colour)) if mask.any() else None
        result[f"n_{colour}"] = int(mask.sum())
    result["red_as_green"] = int(np.sum((y == "red") & (p == "green")))
    result["confusion"] = {t: {q: int(np.sum((y == t) & (p == q))) for q in sorted(set(p))} for t in COLOURS}
    result["ms_per_crop"] = 1000.0 * elapsed / max(len(rows) - unreadable, 1)
    return result


@eval_group.command("lights")
@click.option("--data", "data", type=click.Path(path_type=Path), required=True, help="Folder with labels.csv")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout")
def eval_lights(data: Path, as_json: bool) -> None:
    """Traffic-light state accuracy (labels.csv: image,colour[,split]; the test split when present)."""
    rows = read_light_labels(data)
    progress(f"lights: evaluating {len(rows)} crops from {data}")
    result = evaluate_lights(data, rows)
    if as_json:
        emit_json(result)
        return
    click.echo(
        f"n={result['n']} accuracy={result['accuracy']:.4f} recall red={result['recall_red']}"
        f" yellow={result['recall_yellow']} green={result['recall_green']}"
        f" red_as_green={result['red_as_green']} ms/crop={result['ms_per_crop']:.3f}"
    )


COMMANDS: list[click.Command] = []
