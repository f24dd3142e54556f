"""Held-out plate folders for ``kuzet eval plates`` and ``kuzet eval scenes``, cut from the openalpr benchmark.

The openalpr benchmark's ``endtoend/<country>/`` folders hold car photos, each with a ``.txt`` beside it naming the
photo, the plate box and its text (``name x y w h PLATE``, whitespace separated). Those folders (AGPL-3.0, like
``openalpr_eu_crops`` in the shared data) are not in ``../shared/data``; they are where "Plates that generalise" in
the README measured the reader on plates never used to choose anything. This module turns a checkout of the benchmark
into the two EVAL.md layouts, per country:

* ``<out>/<country>_crops/``: ``images/<stem>.png`` plate crops with a margin on every side (10 % of the plate's
  width and height by default, the way ``openalpr_eu_crops`` was cut), clipped to the photo; ``labels.csv`` with
  ``image,plate``;
* ``<out>/<country>_scenes/``: the photos as they are; ``labels.csv`` with ``image,x1,y1,x2,y2,plate``.

Nothing is random: the same checkout gives the same folders. Labels are upper-cased; a box that falls outside its
photo, a photo that does not decode and a malformed line are skipped and counted, never a crash.
"""

from __future__ import annotations

import csv
import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2

logger = logging.getLogger(__name__)
Progress = Callable[[str], None]


class BenchmarkLayoutError(ValueError):
    """The given folder is not an openalpr benchmark checkout; the message says what is missing."""


@dataclass(frozen=True)
class PlateLabel:
    """One labelled plate of a benchmark photo: the photo's file name, its box (x, y, w, h) and its text."""

    image: str
    x: int
    y: int
    w: int
    h: int
    plate: str


@dataclass
class CountryReport:
    """What one country's folder gave: crops written and items skipped, by reason."""

    country: str
    written: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def parse_label(text: str) -> PlateLabel | None:
    """A ``.txt`` label's first line as a ``PlateLabel``; None when it is not ``name x y w h PLATE``."""
    lines = text.strip().splitlines()
    parts = lines[0].split() if lines else []
    if len(parts) < 6 or not all(p.lstrip("-").isdigit() for p in parts[1:5]):
        return None
    x, y, w, h = (int(p) for p in parts[1:5])
    if w <= 0 or h <= 0:
        return None
    return PlateLabel(parts[0], x, y, w, h, "".join(parts[5:]).upper())


def crop_box(label: PlateLabel, width: int, height: int, margin: float) -> tuple[int, int, int, int] | None:
    """The plate box grown by ``margin`` of its size on every side and clipped to the photo; None when outside."""
    mx, my = int(margin * label.w), int(margin * label.h)
    x1, y1 = max(0, label.x - mx), max(0, label.y - my)
    x2, y2 = min(width, label.x + label.w + mx), min(height, label.y + label.h + my)
    return (x1, y1, x2, y2) if x2 > x1 and y2 > y1 else None


def find_countries(benchmark: Path) -> list[str]:
    """The country folders of ``<benchmark>/endtoend`` that hold labelled photos, sorted."""
    root = benchmark / "endtoend"
    if not root.is_dir():
        raise BenchmarkLayoutError(f"{benchmark} has no endtoend/ folder: give a checkout of openalpr/benchmarks")
    return sorted(d.name for d in root.iterdir() if d.is_dir() and any(d.glob("*.txt")))


def build_country(source: Path, out: Path, margin: float, progress: Progress | None = None) -> CountryReport:
    """Write ``<out>/<country>_crops`` and ``<out>/<country>_scenes`` from one ``endtoend/<country>`` folder."""
    report = CountryReport(source.name)
    crops_dir, scenes_dir = out / f"{source.name}_crops", out / f"{source.name}_scenes"
    (crops_dir / "images").mkdir(parents=True, exist_ok=True)
    scenes_dir.mkdir(parents=True, exist_ok=True)
    crop_rows: list[tuple[str, str]] = []
    scene_rows: list[tuple[str, int, int, int, int, str]] = []
    for txt in sorted(source.glob("*.txt")):
        label = parse_label(txt.read_text(errors="replace"))
        photo = cv2.imread(str(source / label.image), cv2.IMREAD_COLOR) if label else None
        if label is None or photo is None:
            report.skip("malformed label" if label is None else "unreadable photo")
            continue
        box = crop_box(label, photo.shape[1], photo.shape[0], margin)
        if box is None:
            report.skip("box outside the photo")
            continue
        x1, y1, x2, y2 = box
        name = f"images/{txt.stem}.png"
        cv2.imwrite(str(crops_dir / name), photo[y1:y2, x1:x2])
        shutil.copyfile(source / label.image, scenes_dir / label.image)
        crop_rows.append((name, label.plate))
        scene_rows.append((label.image, label.x, label.y, label.x + label.w, label.y + label.h, label.plate))
        report.written += 1
    _write_csv(crops_dir / "labels.csv", ("image", "plate"), crop_rows)
    _write_csv(scenes_dir / "labels.csv", ("image", "x1", "y1", "x2", "y2", "plate"), scene_rows)
    if progress:
        progress(f"plates {source.name}: {report.written} crops and scenes, skipped {report.skipped or 'none'}")
    return report


def build(
    benchmark: Path, out: Path, countries: list[str] | None, margin: float, progress: Progress | None = None
) -> list[CountryReport]:
    """Build every asked country's folders (all present ones when ``countries`` is None)."""
    present = find_countries(benchmark)
    wanted = countries or present
    missing = sorted(set(wanted) - set(present))
    if missing:
        raise BenchmarkLayoutError(f"no labelled endtoend/ folder for {', '.join(missing)} (present: {present})")
    return [build_country(benchmark / "endtoend" / c, out, margin, progress) for c in wanted]


def _write_csv(path: Path, header: tuple[str, ...], rows: Sequence[tuple[object, ...]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    logger.info("wrote %s (%d rows)", path, len(rows))
