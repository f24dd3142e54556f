"""Find the plate's main character row in a crop and cut to it: line selection by character height.

A plate crop from a detector (or a loose margin) holds more than the registration: a state name or slogan above or
below, a dealer frame, stickers, the neighbouring car's bumper text. The recogniser reads one line, so those either
add characters or spoil the read. Here connected components of the binarised crop are kept when they are shaped
like characters, grouped by height and vertical position, and the group of the tallest well-supported row wins: its
characters are the registration (on every plate format we know the registration is the largest text). The crop is
cut to that row (with a margin scaled by the character height) and levelled when the row is tilted; a two-line
plate (two stacked rows of like height) is laid out as one line. Nothing here knows a country or a format.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class CharacterRow:
    """The registration row found in a crop (pixel units of the crop).

    Attributes:
        boxes: (K, 4) x, y, w, h of the row's character components.
        char_height: median character height.
        angle_deg: tilt of the row's baseline (positive = falling to the right).
        bounds: x1, y1, x2, y2 of the cut (margin included, clipped).
        other_rows: rows of character-like components outside the chosen one (extra text lines).
        second: a second row of characters of about the same height stacked right above or below (a two-line
            plate), or None.
    """

    boxes: NDArray[np.int32]
    char_height: float
    angle_deg: float
    bounds: tuple[int, int, int, int]
    other_rows: int
    second: CharacterRow | None = None


def _components(grey: NDArray[np.uint8], dark_text: bool) -> NDArray[np.int32]:
    """(N, 4) x, y, w, h of character-shaped components of one polarity."""
    height = grey.shape[0]
    block = max(3, (height // 2) | 1)
    mode = cv2.THRESH_BINARY_INV if dark_text else cv2.THRESH_BINARY
    binary = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, mode, block, 7)
    count, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    x, y, w, h, area = (stats[1:count, k] for k in range(5))
    fill = area / np.maximum(w * h, 1)
    shaped = (
        (h >= max(0.1 * height, 6))
        & (h <= 0.95 * height)
        & (w <= 1.2 * h)
        & (w >= 0.08 * h)
        & (fill >= 0.12)
        & (fill <= 0.95)
    )
    return np.asarray(np.stack([x, y, w, h], axis=1)[shaped], np.int32)


def _rows(boxes: NDArray[np.int32]) -> list[NDArray[np.int64]]:
    """Groups of component indices of similar height whose vertical centres line up, largest support first."""
    if len(boxes) == 0:
        return []
    h = boxes[:, 3].astype(np.float32)
    cy = boxes[:, 1] + h / 2.0
    similar = np.abs(h[:, None] - h[None, :]) <= 0.25 * np.maximum(h[:, None], h[None, :])
    aligned = np.abs(cy[:, None] - cy[None, :]) <= 0.35 * np.maximum(h[:, None], h[None, :])
    linked = similar & aligned
    left = set(range(len(boxes)))
    groups: list[NDArray[np.int64]] = []
    while left:
        seed = max(left, key=lambda i: (int(linked[i][list(left)].sum()), h[i]))
        members = np.asarray(sorted(j for j in left if linked[seed, j]), np.int64)
        groups.append(members)
        left -= set(members.tolist())
    return groups


def find_character_row(
    crop_bgr: NDArray[np.uint8], min_chars: int = 3, side_margin: float | None = None, pair_ratio: float = 0.75
) -> CharacterRow | None:
    """The registration row of a plate crop, or None when no row of ``min_chars`` character shapes is seen.

    Both polarities are tried (dark on light, light on dark). Within one, the tallest row of at least ``min_chars``
    characters is the registration; between the two, the one scoring more height x characters (up to 8) wins. A
    row of at least ``pair_ratio`` of its height stacked within one character height above or below makes a
    two-line plate (``second``). ``side_margin`` (in character heights) also cuts left and right of the row; None
    keeps the crop's width (held out, a side cut lost first/last characters touching the frame more often than it
    removed side text).
    """
    grey = np.asarray(cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2GRAY) if crop_bgr.ndim == 3 else crop_bgr, np.uint8)
    best: tuple[tuple[float, int], NDArray[np.int32], list[NDArray[np.int32]]] | None = None
    for dark in (True, False):
        boxes = _components(grey, dark)
        rows = [boxes[g] for g in _rows(boxes) if len(g) >= min_chars]
        if not rows:
            continue
        heights = [float(np.median(r[:, 3])) for r in rows]
        top = int(np.argmax(heights))
        if heights[top] < 0.2 * grey.shape[0]:
            continue  # only small print (a crop of a state name or a frame): no registration row
        key = (heights[top] * min(len(rows[top]), 8), len(rows[top]))
        if best is None or key > best[0]:
            best = (key, rows[top], rows[:top] + rows[top + 1 :])
    if best is None:
        return None
    _, row, others = best
    partner = _partner(row, others, pair_ratio)
    second = _describe(partner, 0, grey.shape, side_margin) if partner is not None else None
    return replace(_describe(row, len(others), grey.shape, side_margin), second=second)


def _partner(row: NDArray[np.int32], others: list[NDArray[np.int32]], ratio: float) -> NDArray[np.int32] | None:
    """The row stacked right above or below ``row`` with characters of nearly its height (two-line plates)."""
    char_h = float(np.median(row[:, 3]))
    top, bottom = int(row[:, 1].min()), int((row[:, 1] + row[:, 3]).max())
    left, right = int(row[:, 0].min()), int((row[:, 0] + row[:, 2]).max())
    for other in others:
        other_h = float(np.median(other[:, 3]))
        o_top, o_bottom = int(other[:, 1].min()), int((other[:, 1] + other[:, 3]).max())
        o_left, o_right = int(other[:, 0].min()), int((other[:, 0] + other[:, 2]).max())
        gap = max(o_top - bottom, top - o_bottom)
        overlap_x = min(right, o_right) - max(left, o_left)
        if other_h >= ratio * char_h and 0 <= gap <= char_h and overlap_x > 0:
            return other
    return None


def _describe(row: NDArray[np.int32], others: int, shape: tuple[int, ...], side_margin: float | None) -> CharacterRow:
    """Bounds and tilt of one chosen row."""
    height, width = shape[:2]
    char_h = float(np.median(row[:, 3]))
    bottoms = row[:, 1] + row[:, 3]
    centres_x = row[:, 0] + row[:, 2] / 2.0
    angle = 0.0
    if len(row) >= 3 and np.ptp(centres_x) > char_h:
        slope = float(np.polyfit(centres_x, bottoms.astype(np.float64), 1)[0])
        angle = float(np.degrees(np.arctan(slope)))
    pad_y = 0.25 * char_h
    tilt = abs(np.tan(np.radians(angle))) * float(np.ptp(centres_x)) / 2.0
    x1, x2 = 0, width
    if side_margin is not None:
        x1 = int(max(0, row[:, 0].min() - side_margin * char_h))
        x2 = int(min(width, (row[:, 0] + row[:, 2]).max() + side_margin * char_h))
    y1 = int(max(0, row[:, 1].min() - pad_y - tilt))
    y2 = int(min(height, bottoms.max() + pad_y + tilt))
    return CharacterRow(row, char_h, angle, (x1, y1, x2, y2), others)


def cut_to_row(crop_bgr: NDArray[np.uint8], row: CharacterRow | None, max_angle: float = 20.0) -> NDArray[np.uint8]:
    """The crop cut to ``row.bounds``, levelled when the row tilts between 1.5 and ``max_angle`` degrees; a
    two-line plate becomes one line (upper row, then lower row, side by side at the upper row's height). The crop
    is returned unchanged when no row was found."""
    if row is None:
        return crop_bgr
    first = _cut(crop_bgr, row, max_angle)
    if row.second is None or not first.size:
        return first
    upper, lower = (row, row.second) if row.bounds[1] <= row.second.bounds[1] else (row.second, row)
    parts = [_cut(crop_bgr, upper, max_angle), _cut(crop_bgr, lower, max_angle)]
    if not all(p.size for p in parts):
        return first
    height = parts[0].shape[0]
    width = max(1, round(parts[1].shape[1] * height / parts[1].shape[0]))
    parts[1] = np.asarray(cv2.resize(parts[1], (width, height)), np.uint8)
    return np.ascontiguousarray(np.hstack(parts))


def _cut(crop_bgr: NDArray[np.uint8], row: CharacterRow, max_angle: float) -> NDArray[np.uint8]:
    """One row's bounds, levelled."""
    x1, y1, x2, y2 = row.bounds
    out = crop_bgr[y1:y2, x1:x2]
    if 1.5 <= abs(row.angle_deg) <= max_angle and out.size:
        h, w = out.shape[:2]
        matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), row.angle_deg, 1.0)
        out = np.asarray(
            cv2.warpAffine(out, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), np.uint8
        )
    return np.ascontiguousarray(out)
