"""Real negatives for the light classifier's ``off`` class: crops in which no lamp is lit, or no signal head at all.

Every crop is real pixels from ``../shared/data/traffic`` (nothing drawn or masked):

- ``unlit``: the unlit part of a real signal-head crop (the lower 55 % of a red head, the upper 55 % of a green
  head: the yellow and green, or red and yellow, lamps dark);
- ``video``: random head-shaped crops of road-camera frames (asphalt, markings, cars, sky, buildings);
- ``scene``: random head-shaped crops of car photos (bodywork, tail lights, plates, streets);
- ``plate``: plate crops (bright text on colour, the commonest false "lamp" in a roadside frame);
- ``dark``: night and dusk: real crops of the above and of lit heads darkened to 8-30 % brightness (a lamp this
  dim is not a signal anyone can enforce on).

The two splits use disjoint sources, so the test negatives come from files never used in training: the lights
folder's own ``split`` column, ``intel_car_detection.mp4`` + ``scenes/openalpr_eu`` + ``plates/openalpr_eu_crops``
for train, ``ozlu_vehicle_counting.mp4`` + ``scenes/nomeroff_ua`` + ``plates/openalpr_us_ocr`` for test.

``write_folder`` writes them in the ``kuzet eval lights`` layout (``labels.csv`` with ``image,split,colour,source``,
colour ``off``); ``kuzet devset lights-off`` runs it.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

Image = NDArray[np.uint8]

UNLIT_SHARE = 0.55
"""Share of the head height kept on the side away from the lit lamp (red on top, green at the bottom)."""


@dataclass(frozen=True, slots=True)
class Sources:
    """The files one split's negatives come from (paths relative to the ``traffic`` data folder)."""

    video: str
    scenes: str
    plates: str


SOURCES = {
    "train": Sources("videos/intel_car_detection.mp4", "scenes/openalpr_eu", "plates/openalpr_eu_crops"),
    "test": Sources("videos/ozlu_vehicle_counting.mp4", "scenes/nomeroff_ua", "plates/openalpr_us_ocr"),
}
SPLITS = tuple(SOURCES)


@dataclass(frozen=True, slots=True)
class Negative:
    """One negative crop and where it came from (``kind:file``)."""

    crop: Image
    source: str


def unlit_section(img: Image, colour: str) -> Image | None:
    """The part of a lit head whose lamps are dark: below the red lamp, above the green one; None for yellow."""
    height = img.shape[0]
    keep = max(round(height * UNLIT_SHARE), 2)
    if colour == "red":
        return img[height - keep :]
    if colour == "green":
        return img[:keep]
    return None


def random_crops(image: Image, count: int, rng: np.random.Generator) -> list[Image]:
    """``count`` head-shaped crops (height 1.2-3.5x width, 12-45 % of the image height) at random places."""
    height, width = image.shape[:2]
    out: list[Image] = []
    for _ in range(count):
        h = int(rng.uniform(0.12, 0.45) * height)
        w = max(int(h / rng.uniform(1.2, 3.5)), 4)
        h, w = max(min(h, height), 8), min(w, width)
        y, x = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
        out.append(np.ascontiguousarray(image[y : y + h, x : x + w]))
    return out


def darkened(img: Image, factor: float) -> Image:
    """The crop at ``factor`` of its brightness (night, dusk, an under-exposed frame)."""
    return np.asarray(np.clip(img.astype(np.float32) * factor, 0, 255), dtype=np.uint8)


def video_frames(path: Path, count: int) -> list[Image]:
    """``count`` frames spread evenly over a clip."""
    capture = cv2.VideoCapture(str(path))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    wanted = set(np.linspace(0, max(total - 1, 0), count).astype(int).tolist())
    frames: list[Image] = []
    index = 0
    while capture.grab():  # grab decodes; retrieve (the colour conversion) only for the wanted frames
        if index in wanted:
            ok, frame = capture.retrieve()
            if ok:
                frames.append(np.asarray(frame, dtype=np.uint8))
        index += 1
    capture.release()
    if not frames:
        raise FileNotFoundError(f"{path}: no frames decoded")
    return frames


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in (folder / "images").rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})


def _read(path: Path) -> Image | None:
    raw = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if raw is None:
        logger.warning("unreadable %s", path)
        return None
    return np.asarray(raw, dtype=np.uint8)


def unlit_negatives(traffic: Path, split: str) -> list[Negative]:
    """The unlit sections of the lights folder's crops of ``split`` (its own split column)."""
    root = traffic / "lights"
    out: list[Negative] = []
    with (root / "labels.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["split"] != split or (img := _read(root / row["image"])) is None:
                continue
            section = unlit_section(img, row["colour"])
            if section is not None:
                out.append(Negative(section, f"unlit:{row['image']}"))
    return out


def background_negatives(traffic: Path, split: str, rng: np.random.Generator) -> list[Negative]:
    """Head-shaped crops of the split's video, scene photos and plate crops."""
    src = SOURCES[split]
    out: list[Negative] = []
    for k, frame in enumerate(video_frames(traffic / src.video, 60)):
        out += [Negative(c, f"video:{Path(src.video).name}#{k}") for c in random_crops(frame, 8, rng)]
    for path in _images(traffic / src.scenes):
        if (img := _read(path)) is not None:
            out += [Negative(c, f"scene:{path.name}") for c in random_crops(img, 4, rng)]
    plates = _images(traffic / src.plates)
    for path in rng.permutation(np.array(plates, dtype=object))[:120].tolist():
        if (img := _read(path)) is not None:
            out.append(Negative(img, f"plate:{path.name}"))
    return out


def dark_negatives(traffic: Path, split: str, rng: np.random.Generator, count: int) -> list[Negative]:
    """Night and dusk: lit heads and background crops of the split darkened to 8-30 % brightness."""
    root = traffic / "lights"
    with (root / "labels.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == split]
    out: list[Negative] = []
    for k in rng.permutation(len(rows))[: count // 2].tolist():
        if (img := _read(root / rows[k]["image"])) is not None:
            out.append(Negative(darkened(img, float(rng.uniform(0.08, 0.3))), f"dark:{rows[k]['image']}"))
    frames = video_frames(traffic / SOURCES[split].video, 12)
    for k in range(count - len(out)):
        crop = random_crops(frames[k % len(frames)], 1, rng)[0]
        out.append(Negative(darkened(crop, float(rng.uniform(0.08, 0.3))), f"dark:video#{k % len(frames)}"))
    return out


def build_negatives(traffic: Path, split: str, seed: int = 0) -> list[Negative]:
    """Every negative of one split (seeded; the same data gives the same crops)."""
    if split not in SOURCES:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    rng = np.random.default_rng(seed + SPLITS.index(split))
    out = unlit_negatives(traffic, split) + background_negatives(traffic, split, rng)
    out += dark_negatives(traffic, split, rng, count=len(out) // 5)
    return [n for n in out if min(n.crop.shape[:2]) >= 4]


def write_folder(negatives: list[Negative], out: Path, split: str = "test") -> Path:
    """The negatives as a ``kuzet eval lights`` folder (``labels.csv`` colour ``off``); returns the labels file."""
    (out / "off").mkdir(parents=True, exist_ok=True)
    labels = out / "labels.csv"
    with labels.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "split", "colour", "source"])
        for k, negative in enumerate(negatives):
            name = f"off/{k:05d}.png"
            if not cv2.imwrite(str(out / name), negative.crop):
                raise OSError(f"could not write {out / name}")
            writer.writerow([name, split, "off", negative.source])
    return labels
