"""Plate commands: ``kuzet eval plates`` (OCR on crops) and ``kuzet eval scenes`` (detection + OCR on photos).

Both follow ../shared/EVAL.md: progress on stderr, ``--json`` prints one JSON object as the last stdout line, exit 2
with one line when the folder lacks the layout, unreadable images counted (as errors) and never a crash.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from kuzet.commands import eval_group
from kuzet.commands.common import emit_json, fail, progress

COMMANDS: list[click.Command] = []

REGIONS = ("any", "kz")


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled item of an evaluation folder."""

    image: Path
    plate: str
    box: tuple[float, float, float, float] | None = None


def read_labels(data: Path, need: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows of ``DIR/labels.csv``; exit 2 naming what is missing."""
    labels = data / "labels.csv"
    if not data.is_dir():
        fail(f"{data} is not a folder")
    if not labels.is_file():
        fail(f"{data} has no labels.csv (expected columns: {', '.join(need)})")
    with labels.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in need if c not in (reader.fieldnames or [])]
        if missing:
            fail(f"{labels} lacks column(s) {', '.join(missing)} (has: {', '.join(reader.fieldnames or [])})")
        rows = list(reader)
    if not rows:
        fail(f"{labels} has no rows")
    return rows


def load_image(path: Path) -> Any:
    """BGR image, or None when the file is missing or not an image."""
    import cv2

    return cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None


def _reader(region: str, threads: int) -> Any:
    from models.plates.config import PlateReaderConfig
    from models.plates.ocr import build_reader
    from models.runtime import RunnerConfig

    return build_reader(PlateReaderConfig(region=region, runner=RunnerConfig(intra_op_threads=threads)))


def _score(pairs: list[tuple[str, str]]) -> tuple[float, float]:
    from models.plates.text import char_accuracy, normalise_text

    exact = sum(normalise_text(p) == normalise_text(t) for p, t in pairs) / len(pairs)
    chars = sum(char_accuracy(normalise_text(p), normalise_text(t)) for p, t in pairs) / len(pairs)
    return round(exact, 4), round(chars, 4)


@eval_group.command("plates")
@click.option("--data", "data", type=click.Path(path_type=Path), required=True, help="Folder with labels.csv")
@click.option("--region", type=click.Choice(REGIONS), default="any", show_default=True, help="Plate grammar")
@click.option("--batch", type=click.IntRange(1, 256), default=16, show_default=True, help="Crops per inference")
@click.option("--threads", type=click.IntRange(1, 16), default=2, show_default=True, help="onnxruntime threads")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last stdout line")
def eval_plates(data: Path, region: str, batch: int, threads: int, as_json: bool) -> None:
    """OCR accuracy on plate crops: labels.csv with image,plate."""
    rows = [Row(data / r["image"], r["plate"]) for r in read_labels(data, ("image", "plate"))]
    reader = _reader(region, threads)
    pairs: list[tuple[str, str]] = []
    unreadable, elapsed = 0, 0.0
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        images = [load_image(r.image) for r in chunk]
        unreadable += sum(i is None for i in images)
        crops = [i for i in images if i is not None]
        began = time.perf_counter()
        reads = iter(reader.read_batch(crops))
        elapsed += time.perf_counter() - began
        pairs += [(next(reads).text if i is not None else "", r.plate) for i, r in zip(images, chunk, strict=True)]
        progress(f"plates: {min(start + batch, len(rows))}/{len(rows)}")
    exact, chars = _score(pairs)
    read_count = max(len(rows) - unreadable, 1)
    result = {
        "n": len(rows),
        "exact": exact,
        "char_accuracy": chars,
        "ms_per_plate": round(1000 * elapsed / read_count, 2),
        "unreadable": unreadable,
        "region": region,
    }
    _report(result, as_json)


def _report(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(result)
    else:
        for key, value in result.items():
            click.echo(f"{key}: {value}")


def _scene_rows(data: Path) -> list[Row]:
    raw = read_labels(data, ("image", "x1", "y1", "x2", "y2", "plate"))
    rows = []
    for number, r in enumerate(raw, start=2):
        try:
            box = (float(r["x1"]), float(r["y1"]), float(r["x2"]), float(r["y2"]))
        except ValueError:
            fail(f"{data / 'labels.csv'} line {number}: box x1,y1,x2,y2 must be numbers")
        rows.append(Row(data / r["image"], r["plate"], box))
    return rows


@eval_group.command("scenes")
@click.option("--data", "data", type=click.Path(path_type=Path), required=True, help="Folder with labels.csv")
@click.option("--region", type=click.Choice(REGIONS), default="any", show_default=True, help="Plate grammar")
@click.option(
    "--detector",
    type=click.Choice(["platedet", "cascade", "both"]),
    default="both",
    show_default=True,
    help="Plate detector backend (both = union of the two, boxes merged by NMS)",
)
@click.option("--threads", type=click.IntRange(1, 16), default=2, show_default=True, help="onnxruntime threads")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last stdout line")
def eval_scenes(data: Path, region: str, detector: str, threads: int, as_json: bool) -> None:
    """Plate detection + OCR on full photos: labels.csv with image,x1,y1,x2,y2,plate (one labelled plate each)."""
    from models.plates.pipeline import ScenePlateReader

    rows = _scene_rows(data)
    scene = ScenePlateReader.build(detector, region, threads)
    found, unreadable, elapsed = 0, 0, 0.0
    pairs: list[tuple[str, str]] = []
    for k, row in enumerate(rows, start=1):
        image = load_image(row.image)
        if image is None:
            unreadable += 1
            pairs.append(("", row.plate))
            continue
        began = time.perf_counter()
        text, hit = scene.read_labelled(image, row.box or (0.0, 0.0, 0.0, 0.0))
        elapsed += time.perf_counter() - began
        found += hit
        pairs.append((text, row.plate))
        if k % 10 == 0 or k == len(rows):
            progress(f"scenes: {k}/{len(rows)}")
    exact, chars = _score(pairs)
    result = {
        "n": len(rows),
        "plate_found": round(found / len(rows), 4),
        "exact": exact,
        "char_accuracy": chars,
        "ms_per_image": round(1000 * elapsed / max(len(rows) - unreadable, 1), 1),
        "unreadable": unreadable,
        "region": region,
        "detector": detector,
    }
    _report(result, as_json)


def demo_lines(samples: Path) -> list[str]:
    """Offline plate demo on synthetic KZ plates (no sample media needed; ``samples`` is unused): read, grammar,
    a multi-frame vote and a watchlist hit. About 2-5 s; returns summary lines for ``kuzet demo``."""
    from datetime import UTC, datetime

    from edge.traffic.watchlist import Watchlist
    from kuzet.contracts import ClockSource
    from models.plates.config import PlateReaderConfig, VoteConfig
    from models.plates.ocr import build_reader
    from models.plates.synth import SynthConfig, generate
    from models.plates.vote import read_track

    del samples
    plates = generate(12, seed=7)
    reader = build_reader(PlateReaderConfig(region="kz"))
    began = time.perf_counter()
    reads = reader.read_batch([p.image for p in plates])
    ms = 1000 * (time.perf_counter() - began) / len(plates)
    exact = sum(r.text == p.text for r, p in zip(reads, plates, strict=True))
    first = reads[0]
    lines = [
        f"plates: {exact}/{len(plates)} synthetic KZ plates read exactly with the KZ grammar ({ms:.0f} ms/plate)",
        f"plates: e.g. {first.text} ({first.plate_format}, {first.region}, confidence {first.confidence:.2f})",
    ]
    looks = (SynthConfig(blur_sigma=2.0, noise_std=14.0), SynthConfig(perspective=0.1), SynthConfig())
    frames = [generate(1, seed=7, config=look)[0].image for look in looks]  # one plate, three frames
    track = read_track(reader, frames, VoteConfig(min_plate_width=20))
    lines.append(
        f"plates: track vote over {track.frames_read} frames -> {track.text}"
        f" ({track.agreeing} agreeing, evidence crop {track.crop.shape[1]}x{track.crop.shape[0]} px)"
    )
    watchlist = Watchlist([(plates[0].text, "stolen"), ("777KZX17", "wanted")])
    alert = watchlist.check(track.text, track.confidence, "demo-cam", datetime.now(UTC), ClockSource.SYSTEM)
    lines.append(
        f"plates: watchlist -> {alert.reason} plate {alert.plate_listed} (distance {alert.distance})"
        if alert
        else "plates: watchlist -> no hit"
    )
    return lines
