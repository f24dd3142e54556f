"""Camera tampering applied to real frames, for the ``kuzet eval health`` development set.

Each tamper is a ``Tamper``: called with a BGR frame and the seconds since the tampering began, it returns the
tampered frame. ``ramp_s`` (where there is one) is how long the tampering takes to reach its full strength, so the
same tamper can be sudden (0) or gradual (a camera slowly turned, a lens slowly misting). Randomness (a hand's wobble,
re-encoding noise) comes from the generator handed in, so a seed gives the same set.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]
Tamper = Callable[[Image, float], Image]


def _strength(elapsed_s: float, ramp_s: float) -> float:
    return 1.0 if ramp_s <= 0 else min(1.0, max(0.0, elapsed_s / ramp_s))


def _u8(image: NDArray[np.float32]) -> Image:
    return np.asarray(np.clip(image, 0, 255), dtype=np.uint8)


def _blend(frame: Image, cover: NDArray[np.float32], mask: NDArray[np.float32]) -> Image:
    m = mask[..., None]
    return _u8(frame.astype(np.float32) * (1.0 - m) + cover * m)


def _soft_mask(shape: tuple[int, int], draw: Callable[[Image], object], edge_frac: float) -> NDArray[np.float32]:
    h, w = shape
    mask = np.zeros((h, w), np.uint8)
    draw(mask)
    sigma = max(1.0, edge_frac * w)
    return np.asarray(cv2.GaussianBlur(mask, (0, 0), sigma), dtype=np.float32) / 255.0


def hand(coverage: float, bgr: tuple[int, int, int], rng: np.random.Generator, ramp_s: float = 0.3) -> Tamper:
    """An out-of-focus, skin-toned palm over about ``coverage`` of the frame (above 1: all of it), shaded across and
    wobbling a little, arriving over ``ramp_s``."""

    def apply(frame: Image, elapsed_s: float) -> Image:
        h, w = frame.shape[:2]
        scale = math.sqrt(coverage / (math.pi / 4)) * (0.5 + 0.5 * _strength(elapsed_s, ramp_s))
        cx = w // 2 + int(rng.normal(0, 0.01 * w))
        cy = h // 2 + int(rng.normal(0, 0.01 * h))
        axes = (int(w * scale / 2), int(h * scale / 2))
        mask = _soft_mask((h, w), lambda m: cv2.ellipse(m, (cx, cy), axes, 0, 0, 360, 255, -1), 0.015)
        mask *= _strength(elapsed_s, ramp_s)
        shading = np.linspace(0.7, 1.15, w, dtype=np.float32)[None, :, None]
        skin = np.array(bgr, np.float32)[None, None, :] * shading
        skin = skin + rng.normal(0, 1.5, (h, w, 1)).astype(np.float32)  # sensor noise on a flat surface
        return _blend(frame, skin, mask)

    return apply


def cloth(colour: tuple[int, int, int], coverage: float, rng: np.random.Generator) -> Tamper:
    """A cloth or bag draped over the camera: a flat colour with soft folds (low-frequency shading), covering
    ``coverage`` of the frame from the top down."""
    phase = float(rng.uniform(0, 2 * math.pi))
    period = float(rng.uniform(0.3, 0.8))

    def apply(frame: Image, elapsed_s: float) -> Image:
        h, w = frame.shape[:2]
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        folds = 1.0 + 0.18 * np.sin(2 * math.pi * (x / (period * w) + 0.3 * y / h) + phase + 0.4 * elapsed_s)
        fabric = np.array(colour, np.float32)[None, None, :] * folds[..., None]
        fabric = fabric + rng.normal(0, 2.0, (h, w, 1)).astype(np.float32)
        bottom = int(min(1.0, coverage) * h)
        mask = _soft_mask((h, w), lambda m: cv2.rectangle(m, (0, 0), (w, bottom), 255, -1), 0.01)
        if coverage >= 1.0:
            mask[:] = 1.0
        return _blend(frame, fabric, mask)

    return apply


def cap(level: int, rng: np.random.Generator) -> Tamper:
    """A lens cap or paint: a near-black frame at grey ``level`` with sensor noise."""

    def apply(frame: Image, _elapsed_s: float) -> Image:
        noise = rng.normal(level, 1.5, frame.shape)
        return _u8(noise.astype(np.float32))

    return apply


def partial(coverage: float, side: str, bgr: tuple[int, int, int], rng: np.random.Generator) -> Tamper:
    """A sticker, tape or hand over ``coverage`` of the frame from one side (``left``, ``right``, ``top``,
    ``bottom``), the rest of the view left as it is."""

    def apply(frame: Image, _elapsed_s: float) -> Image:
        h, w = frame.shape[:2]
        if side in ("left", "right"):
            edge = int(coverage * w)
            box = ((0, 0), (edge, h)) if side == "left" else ((w - edge, 0), (w, h))
        else:
            edge = int(coverage * h)
            box = ((0, 0), (w, edge)) if side == "top" else ((0, h - edge), (w, h))
        mask = _soft_mask((h, w), lambda m: cv2.rectangle(m, box[0], box[1], 255, -1), 0.01)
        cover = np.array(bgr, np.float32)[None, None, :] + rng.normal(0, 1.5, (h, w, 1)).astype(np.float32)
        return _blend(frame, cover, mask)

    return apply


def blur(sigma_frac: float, ramp_s: float = 0.0) -> Tamper:
    """Defocus: a Gaussian blur of ``sigma_frac`` of the frame width (reached after ``ramp_s``)."""

    def apply(frame: Image, elapsed_s: float) -> Image:
        sigma = sigma_frac * frame.shape[1] * _strength(elapsed_s, ramp_s)
        if sigma < 0.3:
            return frame
        return np.asarray(cv2.GaussianBlur(frame, (0, 0), sigma), dtype=np.uint8)

    return apply


def mist(veil: float, sigma_frac: float, rng: np.random.Generator, ramp_s: float = 0.0) -> Tamper:
    """Condensation on the lens: the picture scattered (a blur of ``sigma_frac`` of the width) under a bright,
    uneven veil of opacity ``veil`` (reached after ``ramp_s``)."""
    haze_level = float(rng.uniform(170, 230))
    blotch_seed = int(rng.integers(0, 2**31 - 1))

    def apply(frame: Image, elapsed_s: float) -> Image:
        k = _strength(elapsed_s, ramp_s)
        h, w = frame.shape[:2]
        sigma = max(0.3, sigma_frac * w * k)
        scattered = cv2.GaussianBlur(frame, (0, 0), sigma).astype(np.float32)
        blotches = np.random.default_rng(blotch_seed).uniform(0.6, 1.0, (6, 10)).astype(np.float32)
        opacity = cv2.resize(blotches, (w, h), interpolation=cv2.INTER_CUBIC) * veil * k
        haze = np.full((h, w, 3), haze_level, np.float32)
        return _blend(_u8(scattered), haze, np.clip(opacity, 0.0, 1.0))

    return apply


def warp(dx_frac: float, dy_frac: float, degrees: float, zoom: float, ramp_s: float = 0.0) -> Tamper:
    """The camera moved: its view shifted by (``dx_frac``, ``dy_frac``) of the width, rotated by ``degrees`` and
    zoomed by ``zoom`` about the centre, reached after ``ramp_s`` (a slow turn) or at once."""

    def apply(frame: Image, elapsed_s: float) -> Image:
        k = _strength(elapsed_s, ramp_s)
        h, w = frame.shape[:2]
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees * k, 1.0 + (zoom - 1.0) * k)
        matrix[0, 2] += dx_frac * w * k
        matrix[1, 2] += dy_frac * w * k
        warped = cv2.warpAffine(frame, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        return np.asarray(warped, dtype=np.uint8)

    return apply


def freeze(quality: tuple[int, int], noise: float, rng: np.random.Generator) -> Tamper:
    """A frozen stream: the first tampered frame repeated, each copy re-encoded as JPEG at a quality drawn from
    ``quality`` with a little sensor noise of std ``noise`` added before (an encoder that keeps sending)."""
    held: list[Image] = []

    def apply(frame: Image, _elapsed_s: float) -> Image:
        if not held:
            held.append(frame.copy())
        noisy = _u8(held[0].astype(np.float32) + rng.normal(0, noise, held[0].shape).astype(np.float32))
        q = int(rng.integers(quality[0], quality[1] + 1))
        ok, data = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, q])
        if not ok:
            return noisy
        return np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR), dtype=np.uint8)

    return apply


def exposure_dip(depth: float, period_s: float, start_s: float) -> Tamper:
    """No tampering: an auto-exposure dip to ``1 - depth`` of the brightness for about a second every
    ``period_s`` (as when a white car passes), the first ``start_s`` after the clip begins."""

    def apply(frame: Image, elapsed_s: float) -> Image:
        phase = (elapsed_s - start_s) % period_s if elapsed_s >= start_s else period_s
        gain = 1.0 - depth * math.sin(math.pi * phase) if phase < 1.0 else 1.0
        return _u8(frame.astype(np.float32) * gain)

    return apply


def sway(amplitude_frac: float, period_s: float) -> Tamper:
    """No tampering: a pole swaying in the wind, the view oscillating by ``amplitude_frac`` of the width."""

    def apply(frame: Image, elapsed_s: float) -> Image:
        offset = amplitude_frac * math.sin(2 * math.pi * elapsed_s / period_s)
        return warp(offset, 0.4 * offset, 0.0, 1.0)(frame, 0.0)

    return apply
