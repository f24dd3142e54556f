"""Violations area: ``kuzet eval lights``, ``kuzet evidence verify``, and the demo hook ``demo_violations``."""

from __future__ import annotations

import csv
import sys
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


@click.group("evidence")
def evidence_group() -> None:
    """Violation evidence packages (signed, hash-chained per camera)."""


def read_trusted_key(value: str | None) -> str | None:
    """A trusted public key given as 64 hex characters or as a file holding them; exits 2 when malformed."""
    if value is None:
        return None
    text = Path(value).read_text().strip() if Path(value).is_file() else value.strip()
    if len(text) != 64 or any(c not in "0123456789abcdefABCDEF" for c in text):
        fail(f"--trusted-key must be 64 hex characters or a file holding them, got {value!r}")
    return text.lower()


@evidence_group.command("verify")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--trusted-key", default=None, help="Camera public key (hex or .pub file) the packages must be signed with"
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout")
def evidence_verify(path: Path, trusted_key: str | None, as_json: bool) -> None:
    """Check one package or a whole chain folder; exit 0 when intact, 1 listing every problem."""
    from edge.traffic.evidence_verify import is_package, list_packages, verify_chain, verify_package

    if not path.is_dir():
        fail(f"{path} is not a folder (give an evidence package or a camera's chain folder)")
    key = read_trusted_key(trusted_key)
    single = is_package(path)
    if not single and not list_packages(path):
        fail(f"{path} holds no evidence packages (no manifest.json, no package folders)")
    problems = verify_package(path, key) if single else verify_chain(path, key)
    count = 1 if single else len(list_packages(path))
    for problem in problems:
        click.echo(f"FAIL {problem}")
    if not problems:
        click.echo(f"OK {count} package(s) in {path} verified" + (" against the trusted key" if key else ""))
    if as_json:
        emit_json({"path": str(path), "packages": count, "ok": not problems, "problems": problems})
    if problems:
        sys.exit(1)


COMMANDS: list[click.Command] = [evidence_group]


def demo_violations(samples_dir: Path, work_dir: Path) -> list[str]:
    """Demo hook: signed, verified violation evidence from a rendered junction clip (a few seconds).

    The bundled street clip's violations come from the traffic agent's own single pass
    (``kuzet.commands.traffic.demo_traffic``), not from a second run here. See ``kuzet.commands.violations_demo``.
    """
    from kuzet.commands.violations_demo import rendered_demo

    return rendered_demo(work_dir)
