"""What the evaluations share: the layout error, the progress callback, ``labels.csv`` rows and image reading."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

from models.faces.folders import LayoutError

__all__ = ["LayoutError", "Progress", "load_image", "read_labels"]

Progress = Callable[[str], None]  # one progress line (the commands send it to stderr)


def read_labels(data: Path, need: tuple[str, ...], allow_empty: bool = False) -> list[dict[str, str]]:
    """Rows of ``DIR/labels.csv``; ``LayoutError`` naming what is missing (no rows too, unless ``allow_empty``)."""
    labels = data / "labels.csv"
    if not data.is_dir():
        raise LayoutError(f"{data} is not a folder")
    if not labels.is_file():
        raise LayoutError(f"{data} has no labels.csv (expected columns: {', '.join(need)})")
    with labels.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in need if c not in (reader.fieldnames or [])]
        if missing:
            names = ", ".join(reader.fieldnames or [])
            raise LayoutError(f"{labels} lacks column(s) {', '.join(missing)} (has: {names})")
        rows = list(reader)
    if not rows and not allow_empty:
        raise LayoutError(f"{labels} has no rows")
    return rows


def load_image(path: Path) -> Any:
    """BGR image, or None when the file is missing or not an image."""
    import cv2

    return cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
