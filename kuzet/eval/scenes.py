"""``kuzet eval scenes``: plate detection + OCR on full car photos (``labels.csv`` with ``image,x1,y1,x2,y2,plate``,
one labelled plate each). A plate counts as found when a detected box has IoU >= 0.5 with the labelled one; the
``errors`` block says where the misses come from (``not_found``, or the read's kind as in ``eval plates``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kuzet.eval.common import LayoutError, Progress, load_image, read_labels
from kuzet.eval.plate_errors import ErrorTally
from kuzet.eval.plates import Row, score, tally_read


def scene_rows(data: Path) -> list[Row]:
    """Labelled rows with their boxes; ``LayoutError`` when a column is missing or a box is not numeric."""
    raw = read_labels(data, ("image", "x1", "y1", "x2", "y2", "plate"))
    rows = []
    for number, r in enumerate(raw, start=2):
        try:
            box = (float(r["x1"]), float(r["y1"]), float(r["x2"]), float(r["y2"]))
        except ValueError:
            raise LayoutError(f"{data / 'labels.csv'} line {number}: box x1,y1,x2,y2 must be numbers") from None
        rows.append(Row(data / r["image"], r["plate"], box))
    return rows


def run(
    data: Path, region: str = "any", detector: str = "both", threads: int = 2, progress: Progress | None = None
) -> dict[str, Any]:
    """Detect and read the plate of every photo of ``data``; ``LayoutError`` when the folder lacks the layout."""
    from models.plates.pipeline import ScenePlateReader

    rows = scene_rows(data)
    scene = ScenePlateReader.build(detector, region, threads)
    tally = ErrorTally(small_char_height=scene.reader.config.small_char_height)
    found, unreadable, elapsed = 0, 0, 0.0
    pairs: list[tuple[str, str]] = []
    for k, row in enumerate(rows, start=1):
        image = load_image(row.image)
        if image is None:
            unreadable += 1
            pairs.append(("", row.plate))
            tally_read(tally, None, row.plate)
            continue
        began = time.perf_counter()
        read = scene.read_labelled_plate(image, row.box or (0.0, 0.0, 0.0, 0.0))
        elapsed += time.perf_counter() - began
        found += read is not None
        pairs.append((read.text if read else "", row.plate))
        if read is None:
            tally.add_missed("not_found")
        else:
            tally_read(tally, read, row.plate)
        if progress and (k % 10 == 0 or k == len(rows)):
            progress(f"scenes: {k}/{len(rows)}")
    exact, chars = score(pairs)
    return {
        "n": len(rows),
        "plate_found": round(found / len(rows), 4),
        "exact": exact,
        "char_accuracy": chars,
        "ms_per_image": round(1000 * elapsed / max(len(rows) - unreadable, 1), 1),
        "unreadable": unreadable,
        "region": region,
        "detector": detector,
        "errors": tally.report(),
    }
