"""``kuzet eval plates``: OCR accuracy on plate crops (``labels.csv`` with ``image,plate``).

Crops go through the traffic pipeline's recogniser and text rules; ``region="any"`` switches the Kazakhstan
grammar off (the eval default), ``"kz"`` applies it. Unreadable images count as errors, never a crash. The
``errors`` block says where the wrong reads come from (``kuzet.eval.plate_errors``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kuzet.eval.common import Progress, load_image, read_labels
from kuzet.eval.plate_errors import ErrorTally


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled item of an evaluation folder."""

    image: Path
    plate: str
    box: tuple[float, float, float, float] | None = None


def build_plate_reader(region: str, threads: int) -> Any:
    """The pipeline's plate reader with the given grammar and onnxruntime threads."""
    from models.plates.config import PlateReaderConfig
    from models.plates.ocr import build_plate_reader
    from models.runtime import RunnerConfig

    return build_plate_reader(PlateReaderConfig(region=region, runner=RunnerConfig(intra_op_threads=threads)))


def score(pairs: list[tuple[str, str]]) -> tuple[float, float]:
    """(exact, char_accuracy) of ``(read, truth)`` pairs, after the pipeline's text normalisation."""
    from models.plates.text import char_accuracy, normalise_text

    exact = sum(normalise_text(p) == normalise_text(t) for p, t in pairs) / len(pairs)
    chars = sum(char_accuracy(normalise_text(p), normalise_text(t)) for p, t in pairs) / len(pairs)
    return round(exact, 4), round(chars, 4)


def run(
    data: Path, region: str = "any", batch: int = 16, threads: int = 2, progress: Progress | None = None
) -> dict[str, Any]:
    """Read every crop of ``data`` in batches of ``batch``; ``LayoutError`` when the folder lacks the layout."""
    rows = [Row(data / r["image"], r["plate"]) for r in read_labels(data, ("image", "plate"))]
    reader = build_plate_reader(region, threads)
    tally = ErrorTally(small_char_height=reader.config.small_char_height)
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
        for image, row in zip(images, chunk, strict=True):
            read = next(reads) if image is not None else None
            pairs.append((read.text if read else "", row.plate))
            tally_read(tally, read, row.plate)
        if progress:
            progress(f"plates: {min(start + batch, len(rows))}/{len(rows)}")
    exact, chars = score(pairs)
    read_count = max(len(rows) - unreadable, 1)
    return {
        "n": len(rows),
        "exact": exact,
        "char_accuracy": chars,
        "ms_per_plate": round(1000 * elapsed / read_count, 2),
        "unreadable": unreadable,
        "region": region,
        "errors": tally.report(),
    }


def tally_read(tally: ErrorTally, read: Any, truth: str) -> None:
    """Add one item to ``tally``: a ``PlateRead`` (or None for an unreadable image) against its label."""
    from models.plates.text import normalise_text

    if read is None:
        tally.add_missed("unreadable")
        return
    tally.add(normalise_text(read.text), normalise_text(truth), read.char_height, read.text_rows)
