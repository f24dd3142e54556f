"""The mask classifier's training data: face crops of ``masks/`` (grouped by photo content) and ``masks_real/`` (given
boxes, the README's near-duplicates kept together), and the seeded split by whole groups. Used by
``models.training.masks``; see its docstring for the data and the split.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.faces.config import EmbedderConfig, FaceDetectorConfig
from models.faces.detector import build_face_detector
from models.faces.embedder import build_face_embedder
from models.faces.folders import list_images, read_image
from models.faces.mask import crop_faces
from models.runtime import sha256_file

logger = logging.getLogger(__name__)

# masks_real/README.md, "Near-duplicates": image numbers that show the same photo or burst.
NEAR_DUPLICATES = (
    "146/219 157/411 248/68 287/478 293/466 327/699 369/491 435/554 438/67 451/61 485/87 636/801 653/775 "
    "662/839/849 665/704"
)
REAL_LABELS = {"with_mask": 1, "without_mask": 0, "mask_weared_incorrect": 0}
HASH_CHARS = 16


@dataclass
class CropSet:
    """Face crops with their labels, groups and provenance."""

    crops: list[NDArray[np.uint8]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)


class UnionFind:
    """Disjoint sets over integer ids."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def load_synthetic(root: Path, same_person: float) -> tuple[CropSet, int]:
    """Largest detected face of every ``masks/`` image, grouped by photo content; returns (crops, no-face count)."""
    detector = build_face_detector(FaceDetectorConfig())
    embedder = build_face_embedder(EmbedderConfig(backend="dlib"))  # --same-photo is on dlib's cosine scale
    out, vectors, names, no_face = CropSet(), [], [], 0
    for label_name, label in (("with_mask", 1), ("without_mask", 0)):
        for path in list_images(root / label_name):
            image = read_image(path)
            faces = detector.detect(image) if image is not None else None
            if image is None or faces is None or len(faces) == 0:
                no_face += 1
                continue
            main = faces[int(np.argmax(faces.area))]
            out.crops.append(crop_faces(image, main.xyxy)[0])
            out.labels.append(label)
            out.files.append(f"{label_name}/{path.name}")
            out.hashes.append(sha256_file(path)[:HASH_CHARS])
            out.sizes.append(int((main.xyxy[0, 2:] - main.xyxy[0, :2]).min()))
            vectors.append(embedder.embed(image, main)[0])
            names.append(path.stem.replace("-with-mask", ""))
        logger.info("masks/%s: %d faces so far, %d without a face", label_name, len(out.crops), no_face)
    out.groups = group_by_content(np.stack(vectors), names, same_person)
    return out, no_face


def group_by_content(vectors: NDArray[np.float32], names: list[str], same_person: float) -> list[str]:
    """Group ids joining same-person embeddings and same-stem ``N`` / ``N-with-mask`` files."""
    sets = UnionFind(len(names))
    rows, cols = np.nonzero(np.triu(vectors @ vectors.T, 1) > same_person)
    for a, b in zip(rows.tolist(), cols.tolist(), strict=True):
        sets.union(a, b)
    first: dict[str, int] = {}
    for i, name in enumerate(names):
        if re.fullmatch(r"\d+", name):
            sets.union(i, first.setdefault(name, i))
    return [f"masks:{sets.find(i)}" for i in range(len(names))]


def real_groups() -> dict[str, str]:
    """Image number -> group id for the README's near-duplicate sets."""
    mapping: dict[str, str] = {}
    for pair in NEAR_DUPLICATES.split():
        numbers = pair.split("/")
        for number in numbers:
            mapping[number] = f"real:{numbers[0]}"
    return mapping


def load_real(root: Path, min_size: int) -> CropSet:
    """Crops of the given ``masks_real`` boxes with a short side of at least ``min_size`` px."""
    out, duplicates = CropSet(), real_groups()
    rows = list(csv.DictReader((root / "labels.csv").open(newline="")))
    by_image: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_image.setdefault(row["image"], []).append(row)
    for name, boxes in sorted(by_image.items()):
        image = read_image(root / "images" / name)
        if image is None:
            continue
        xyxy = np.array([[float(r[k]) for k in ("x1", "y1", "x2", "y2")] for r in boxes], np.float32)
        number = re.sub(r"\D", "", Path(name).stem)
        digest = sha256_file(root / "images" / name)[:HASH_CHARS]
        for row, crop in zip(boxes, crop_faces(image, xyxy), strict=True):
            size = min(crop.shape[:2])
            if size < min_size:
                continue
            out.crops.append(crop)
            out.labels.append(REAL_LABELS[row["label"]])
            out.groups.append(duplicates.get(number, f"real:{number}"))
            out.files.append(name)
            out.hashes.append(digest)
            out.sizes.append(size)
    return out


def split_groups(groups: list[str], test_fraction: float, seed: int) -> NDArray[np.bool_]:
    """Boolean test mask choosing whole groups (seeded)."""
    unique = sorted(set(groups))
    rng = np.random.default_rng(seed)
    chosen = set(rng.permutation(unique)[: round(len(unique) * test_fraction)].tolist())
    return np.array([g in chosen for g in groups], bool)


def summarise(labels: NDArray[Any], test: NDArray[np.bool_]) -> dict[str, int]:
    """Counts per split and class."""
    return {
        f"{side}_{name}": int(((labels == value) & (test == is_test)).sum())
        for side, is_test in (("train", False), ("test", True))
        for name, value in (("mask", 1), ("no_mask", 0))
    }
