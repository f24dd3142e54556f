"""The fixed-view real clips the camera-health tests tamper with, and the tampering applied to their frames.

Fixed cameras used: the bundled street clip (samples/traffic, 640x352, 24 fps) and the Intel car-park clip of the
shared data (768x432, 12.5 fps; it sways a few px as cars pass and its exposure dips with a white car). The Hamilton
clip is an edited broadcast whose only fixed shot (the audience, from ~7 s) lasts about 2 s: too short for a baseline
plus a tamper, so it is not used as a fixed camera.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from tests.conftest import REPO, shared_data_root

Image = NDArray[np.uint8]
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
STEP_S = 0.2  # frames kept for the tests: one per analysis (the monitor skips the others anyway)
CLIPS = {
    "ozlu": REPO / "samples" / "traffic" / "ozlu_vehicle_counting.mp4",
    "intel": shared_data_root() / "traffic" / "videos" / "intel_car_detection.mp4",
    "hamilton": REPO / "samples" / "school" / "short_hamilton_clip.mp4",  # edited broadcast: only for cuts
}


def clip_path(name: str) -> Path:
    """The clip's file; the test is skipped when it is absent."""
    import pytest

    path = CLIPS[name]
    if not path.is_file():
        pytest.skip(f"{path} is absent (set KUZET_DATA to the shared data folder)")
    return path


def iter_clip(name: str, step_s: float = 0.0, max_s: float | None = None) -> Iterator[tuple[float, Image]]:
    """(clip seconds, BGR frame) of every frame at least ``step_s`` after the last one kept."""
    capture = cv2.VideoCapture(str(clip_path(name)))
    fps = capture.get(cv2.CAP_PROP_FPS)
    index, last = 0, -1e9
    try:
        while True:
            ok, frame = capture.read()
            t = index / fps
            if not ok or (max_s is not None and t > max_s):
                return
            if t - last >= step_s - 1e-6:
                last = t
                yield t, frame
            index += 1
    finally:
        capture.release()


@cache
def sampled(name: str, max_s: float = 24.0) -> tuple[tuple[float, Image], ...]:
    """The clip's first ``max_s`` seconds, one frame per ``STEP_S`` (cached for the session)."""
    return tuple(iter_clip(name, STEP_S, max_s))


def at(seconds: float) -> datetime:
    """Capture time of clip second ``seconds``."""
    return T0 + timedelta(seconds=seconds)


def shift(fraction: float) -> Callable[[Image], Image]:
    """The view moved sideways by ``fraction`` of its width."""

    def apply(frame: Image) -> Image:
        h, w = frame.shape[:2]
        matrix = np.float32([[1, 0, fraction * w], [0, 1, 0]])
        return np.asarray(cv2.warpAffine(frame, matrix, (w, h), borderMode=cv2.BORDER_REFLECT), dtype=np.uint8)

    return apply


def rotate(degrees: float) -> Callable[[Image], Image]:
    """The view rotated by ``degrees`` about its centre."""

    def apply(frame: Image) -> Image:
        h, w = frame.shape[:2]
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
        return np.asarray(cv2.warpAffine(frame, matrix, (w, h), borderMode=cv2.BORDER_REFLECT), dtype=np.uint8)

    return apply


def blur(sigma: float) -> Callable[[Image], Image]:
    """A Gaussian blur of ``sigma`` px (a defocused or misted lens)."""
    return lambda frame: np.asarray(cv2.GaussianBlur(frame, (0, 0), sigma), dtype=np.uint8)


def cap(frame: Image) -> Image:
    """A lens cap: a black frame with a little sensor noise."""
    noise = np.random.default_rng(int(frame[0, 0, 0])).integers(0, 4, frame.shape, dtype=np.uint8)
    return noise


def hand(coverage: float, bgr: tuple[int, int, int] = (55, 75, 105)) -> Callable[[Image], Image]:
    """A dark skin-toned, out-of-focus ellipse covering about ``coverage`` of the frame, shaded left to right."""

    def apply(frame: Image) -> Image:
        h, w = frame.shape[:2]
        scale = np.sqrt(coverage / (np.pi / 4))  # an ellipse inscribed in the frame covers pi/4 of it
        mask = np.zeros((h, w), np.uint8)
        cv2.ellipse(mask, (w // 2, h // 2), (int(w * scale / 2), int(h * scale / 2)), 0, 0, 360, 255, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), 9).astype(np.float32)[..., None] / 255.0
        shading = np.linspace(0.75, 1.15, w, dtype=np.float32)[None, :, None]
        skin = np.clip(np.array(bgr, np.float32)[None, None, :] * shading, 0, 255)
        mixed = frame.astype(np.float32) * (1 - mask) + skin * mask
        return np.asarray(np.clip(mixed, 0, 255), dtype=np.uint8)

    return apply


def jpeg(frame: Image, quality: int) -> Image:
    """``frame`` re-encoded as JPEG at ``quality`` (the noise a re-encoding camera adds to a repeated frame)."""
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR), dtype=np.uint8)
