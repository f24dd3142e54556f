"""Folder evaluations behind ``kuzet eval faces`` and ``kuzet eval masks`` (contract: ../shared/EVAL.md).

Faces go through the same detector, landmarks and embedder as the school pipeline. Each function returns the JSON
result; a folder without the expected layout raises ``LayoutError`` with one line saying what is missing.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from models.faces.detector import FaceDetector
from models.faces.embedder import Embedder, l2_normalise

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".pgm", ".bmp"})
Progress = Callable[[str], None]


class LayoutError(ValueError):
    """The folder does not have the layout the evaluation needs."""


def natural_key(path: Path) -> list[Any]:
    """Sort key: '2.jpg' before '10.jpg'."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, in natural order."""
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()), key=natural_key)


def read_image(path: Path) -> NDArray[np.uint8] | None:
    """BGR image, or None when the file cannot be decoded."""
    data = np.fromfile(str(path), np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    return None if image is None else np.asarray(image, np.uint8)


@dataclass
class FaceEmbedding:
    """Embedding of the main face of one image, or why there is none."""

    vector: NDArray[np.float32] | None
    unreadable: bool
    faces: int
    seconds: float


def embed_main_face(path: Path, detector: FaceDetector, embedder: Embedder) -> FaceEmbedding:
    """Detect faces in an image file and embed the largest one."""
    image = read_image(path)
    if image is None:
        return FaceEmbedding(None, True, 0, 0.0)
    start = time.perf_counter()
    faces = detector.detect(image)
    if len(faces) == 0:
        return FaceEmbedding(None, False, 0, time.perf_counter() - start)
    main = faces[int(np.argmax(faces.area))]
    vector = embedder.embed(image, main)[0]
    return FaceEmbedding(vector, False, 1, time.perf_counter() - start)


def far_threshold(impostor: NDArray[np.float32], far: float) -> float:
    """Score threshold (accept when score > threshold) whose impostor accept rate is at most ``far``."""
    if len(impostor) == 0:
        return -1.0
    ordered = np.sort(impostor)[::-1]
    return float(ordered[min(int(far * len(ordered)), len(ordered) - 1)])


def identity_folders(root: Path) -> list[Path]:
    """Sub-folders holding at least one image, or ``LayoutError``."""
    if not root.is_dir():
        raise LayoutError(f"{root} is not a folder")
    folders = sorted((p for p in root.iterdir() if p.is_dir() and list_images(p)), key=natural_key)
    if len(folders) < 2:
        raise LayoutError(f"{root} needs at least 2 identity sub-folders with *.jpg/*.jpeg/*.png/*.pgm images")
    return folders


def evaluate_faces(
    root: Path, detector: FaceDetector, embedder: Embedder, enroll: int = 3, progress: Progress | None = None
) -> dict[str, Any]:
    """Closed-set identification and verification over an identity-per-folder tree (see module docstring)."""
    folders = identity_folders(root)
    templates: list[NDArray[np.float32]] = []
    probes: list[tuple[int, NDArray[np.float32] | None]] = []
    unreadable = faces_embedded = enrol_missing = 0
    seconds = 0.0
    for index, folder in enumerate(folders):
        results = [embed_main_face(p, detector, embedder) for p in list_images(folder)]
        unreadable += sum(r.unreadable for r in results)
        faces_embedded += sum(r.faces for r in results)
        seconds += sum(r.seconds for r in results)
        enrolled = [r.vector for r in results[:enroll] if r.vector is not None]
        enrol_missing += enrolled == []
        mean = np.mean(enrolled, axis=0) if enrolled else np.zeros(embedder.dim, np.float32)
        templates.append(l2_normalise(mean))
        probes.extend((index, r.vector) for r in results[enroll:])
        if progress and (index + 1) % 10 == 0:
            progress(f"faces: {index + 1}/{len(folders)} identities")
    gallery = np.stack(templates)
    found = [(i, v) for i, v in probes if v is not None]
    labels = np.array([i for i, _ in found], np.int64)
    scores = np.stack([v for _, v in found]) @ gallery.T if found else np.zeros((0, len(folders)), np.float32)
    genuine = scores[np.arange(len(labels)), labels]
    impostor_mask = np.ones_like(scores, bool)
    impostor_mask[np.arange(len(labels)), labels] = False
    threshold = far_threshold(scores[impostor_mask], 1e-3)
    n_probes = len(probes)
    return {
        "identities": len(folders),
        "probes": n_probes,
        "rank1": float((scores.argmax(1) == labels).sum() / n_probes) if n_probes else 0.0,
        "tar_at_far_1e-3": float((genuine > threshold).sum() / n_probes) if n_probes else 0.0,
        "threshold": threshold,
        "no_face": n_probes - len(found),
        "unreadable": unreadable,
        "identities_without_template": int(enrol_missing),
        "ms_per_face": 1000.0 * seconds / max(faces_embedded, 1),
    }
