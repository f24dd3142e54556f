"""Labelled face folders: images in natural order, one sub-folder per identity, the main face's embedding and the
score threshold at a false-accept rate.

What the face evaluations (``kuzet.eval.faces``, ``kuzet.eval.masks``), the door's threshold calibration
(``edge.school.calibrate``) and the mask training share. A folder without the expected layout raises
``LayoutError`` with one line saying what is missing.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from models.faces.detector import FaceDetector
from models.faces.embedder import Embedder

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".pgm", ".bmp"})


class LayoutError(ValueError):
    """The folder does not have the layout the reader (or evaluation) needs."""


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
