"""``kuzet eval plate-band``: the band variant's rows chosen leave-one-source-out, so the choice can be re-checked.

The plate reader reads every crop in several variants and keeps the most confident read; the ``band`` variant is the
crop's middle rows (``PlateReaderConfig.band_rows``). Which rows is a choice, and a choice looked at on the folders
it is scored on is not a measure of unseen plates. Here every option (no band, and each band of a grid of first and
last rows) is scored on every source folder (EVAL.md ``plates`` layout: ``labels.csv`` with ``image,plate``); then,
for each source held out, the option best on the other sources (mean exact, ties to the earlier option) is reported
on the held-out one, beside the reader without a band and the best option there (what looking would have given).

Every crop's other variants are read once; each option adds one band crop per plate, so a grid of K options costs
about ``K / 5`` times one ``eval plates`` pass per folder. The reader, variants and text rules are the pipeline's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kuzet.eval.common import Progress, load_image, read_labels
from kuzet.eval.plates import build_plate_reader

Band = tuple[float, float]
Read = tuple[str, NDArray[np.float32]]
NO_BAND = "none"
TOPS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
BOTTOMS = (0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


@dataclass(frozen=True)
class Crop:
    """One labelled crop: its truth, the reads of the reader's other variants, and one band read per option."""

    truth: str
    others: list[Read]
    bands: dict[str, Read]


def option_name(band: Band) -> str:
    """``"0.2-0.8"`` for the band (0.2, 0.8)."""
    return f"{band[0]:g}-{band[1]:g}"


def grid(tops: tuple[float, ...] = TOPS, bottoms: tuple[float, ...] = BOTTOMS) -> list[Band]:
    """Every (first row, last row) pair of the grid."""
    return [(top, bottom) for top in tops for bottom in bottoms]


def read_source(without: Any, data: Path, bands: list[Band], progress: Progress | None = None) -> list[Crop]:
    """Every crop of one folder read in the variants of ``without`` (the reader's, less the band) and in each band;
    unreadable files skipped."""
    from models.plates.ocr import crop_variants, cut_band
    from models.plates.text import normalise_text

    rows = read_labels(data, ("image", "plate"))
    count = len(without.config.variants)
    crops: list[Crop] = []
    for index, row in enumerate(rows):
        image = load_image(data / row["image"])
        if image is None:
            continue
        images = [*crop_variants(image, without.config), *(cut_band(image, band) for band in bands)]
        reads = without.decode_images(images)
        named = {option_name(band): read for band, read in zip(bands, reads[count:], strict=True)}
        crops.append(Crop(normalise_text(row["plate"]), reads[:count], named))
        if progress and (index + 1) % 50 == 0:
            progress(f"plate-band {data.name}: {index + 1}/{len(rows)}")
    return crops


def choosers(reader: Any) -> tuple[Any, Any]:
    """Readers on the same session that choose among the reader's other variants, without and with one band read
    after them (only the variant list differs)."""
    from models.plates.ocr import PlateReader

    others = tuple(v for v in reader.config.variants if v != "band")
    without = PlateReader(reader.runner, reader.config.model_copy(update={"variants": others}))
    with_band = PlateReader(reader.runner, reader.config.model_copy(update={"variants": (*others, "band")}))
    return without, with_band


def exact(chooser: Any, crops: list[Crop], option: str) -> float:
    """Share of crops ``chooser`` reads exactly from the other variants' reads plus ``option``'s band (or none)."""
    from models.plates.text import normalise_text

    if not crops:
        return 0.0
    band = option != NO_BAND
    right = sum(
        normalise_text(chooser.choose([*c.others, *([c.bands[option]] if band else [])]).text) == c.truth for c in crops
    )
    return right / len(crops)


def leave_one_out(scores: dict[str, dict[str, float]], sources: list[str]) -> list[dict[str, Any]]:
    """For each held-out source: the option best on the others (in ``scores`` order on ties) and its figures there."""
    held: list[dict[str, Any]] = []
    for out in sources:
        rest = [s for s in sources if s != out]
        chosen = max(scores, key=lambda o: float(np.mean([scores[o][s] for s in rest])))
        best = max(scores, key=lambda o: scores[o][out])
        held.append(
            {
                "held_out": out,
                "chosen": chosen,
                "exact": round(scores[chosen][out], 4),
                "without_band": round(scores[NO_BAND][out], 4),
                "best_there": best,
                "best_exact": round(scores[best][out], 4),
            }
        )
    return held


def run(
    folders: dict[str, Path], bands: list[Band] | None = None, threads: int = 2, progress: Progress | None = None
) -> dict[str, Any]:
    """Score every option on every folder and choose leave-one-source-out (``LayoutError`` on a bad folder)."""
    bands = bands or grid()
    reader = build_plate_reader("any", threads)
    without, with_band = choosers(reader)
    read = {name: read_source(without, path, bands, progress) for name, path in folders.items()}
    options = [NO_BAND, *(option_name(b) for b in bands)]
    scores = {
        o: {name: exact(without if o == NO_BAND else with_band, crops, o) for name, crops in read.items()}
        for o in options
    }
    shipped = option_name(reader.config.band_rows)
    return {
        "sources": {name: len(crops) for name, crops in read.items()},
        "options": len(options),
        "held_out": leave_one_out(scores, list(folders)),
        "shipped": shipped,
        "shipped_exact": {name: round(v, 4) for name, v in scores.get(shipped, {}).items()},
        "scores": {o: {name: round(v, 4) for name, v in s.items()} for o, s in scores.items()},
    }
