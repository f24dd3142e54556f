"""The ``kuzet eval health`` development set: tampered and untouched clips made from the bundled fixed-view clips.

Sources (fixed views only): the bundled street clip (``samples/traffic``, the whole clip), the audience shot of the
bundled Hamilton clip (7.15-9.1 s: the clip is an edited broadcast with cuts at about 0.7, 2.7 and 7.0 s, and only
that shot is a fixed view) and, when the shared data is present (``KUZET_DATA`` or ``../shared/data``), the Intel
car-park clip (which sways a few px and dips in exposure by itself). A source is read at about 12-15 fps and played
forwards and backwards (ping-pong) to the length a video needs, so each tampering interval has a clean first
``plans.BASELINE_ROOM_S`` before it and ``plans.TAIL_S`` after it to clear (what each video holds: ``plans``).

Each video holds one tampering interval (covered: hand, cloth, cap, partial; defocused: blur, mist; moved: shift,
rotation, zoom, sudden or gradual; frozen: a repeated, re-encoded frame) with a magnitude drawn from a bucket and a
duration drawn at random, or none (untouched: the clips as they are, with a swaying pole or exposure dips added, and
the whole Hamilton clip with its cuts). ``labels.csv`` has ``video,state,start_s,end_s`` plus ``tag`` (the kind and
magnitude bucket, for per-magnitude figures), ``source`` and ``detail`` (the exact magnitude). Same seed, same set.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from kuzet.devsets.plans import Spec, limits_plan, plan, small_plan
from kuzet.devsets.tampers import Image

REPO = Path(__file__).resolve().parents[2]
TARGET_FPS = 12.0
SMALL_WIDTH = 320
Progress = Callable[[str], None]


class SourceClipError(RuntimeError):
    """A bundled source clip is missing or unreadable; the message says which."""


@dataclass(frozen=True, slots=True)
class Source:
    """A fixed-view stretch of a clip: ``path`` from ``start_s`` to ``end_s`` (None: the end)."""

    name: str
    path: Path
    start_s: float = 0.0
    end_s: float | None = None


@dataclass(frozen=True, slots=True)
class Summary:
    """What was written."""

    videos: int
    intervals: int
    specs: tuple[str, ...] = field(default=())


def sources() -> dict[str, Source]:
    """The fixed-view sources found on this machine (the car park only with the shared data)."""
    shared = Path(os.environ.get("KUZET_DATA", REPO.parent / "shared" / "data"))
    found = {
        "street": Source("street", REPO / "samples" / "traffic" / "ozlu_vehicle_counting.mp4"),
        "audience": Source("audience", REPO / "samples" / "school" / "short_hamilton_clip.mp4", 7.15, 9.1),
        "carpark": Source("carpark", shared / "traffic" / "videos" / "intel_car_detection.mp4"),
        "hamilton": Source("hamilton", REPO / "samples" / "school" / "short_hamilton_clip.mp4"),
    }
    for key in ("street", "audience", "hamilton"):
        if not found[key].path.is_file():
            raise SourceClipError(f"bundled clip {found[key].path} is missing")
    if not found["carpark"].path.is_file():
        del found["carpark"]
    return found


@cache
def decode(source: Source, width: int | None) -> tuple[tuple[Image, ...], float]:
    """The source's frames at about ``TARGET_FPS`` (every k-th frame), resized to ``width`` when given; and the fps."""
    capture = cv2.VideoCapture(str(source.path))
    if not capture.isOpened():
        raise SourceClipError(f"cannot decode {source.path}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    step = max(1, round(fps / TARGET_FPS))
    frames: list[Image] = []
    index = 0
    while True:
        ok, frame = capture.read()
        t = index / fps
        if not ok or (source.end_s is not None and t > source.end_s):
            break
        if t >= source.start_s and index % step == 0:
            if width is not None and frame.shape[1] != width:
                height = round(frame.shape[0] * width / frame.shape[1]) // 2 * 2
                frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
            frames.append(np.ascontiguousarray(frame))
        index += 1
    capture.release()
    if len(frames) < 2:
        raise SourceClipError(f"{source.path} gave too few frames")
    return tuple(frames), fps / step


def ping_pong(n: int, length: int, offset: int) -> list[int]:
    """``length`` frame indices into ``n`` frames, played forwards and backwards from ``offset``."""
    period = 2 * (n - 1)
    out = []
    for i in range(length):
        k = (offset + i) % period
        out.append(k if k < n else period - k)
    return out


def write(spec: Spec, src: Source, out: Path, width: int | None) -> None:
    """Render ``spec`` to ``out/<name>.mp4``."""
    frames, fps = decode(src, width)
    count = len(frames) if spec.straight else round(spec.duration_s * fps)
    order = list(range(count)) if spec.straight else ping_pong(len(frames), count, spec.offset)
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(out / f"{spec.name}.mp4"), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    try:
        for i, k in enumerate(order):
            t = i / fps
            frame = frames[k]
            if spec.background is not None:
                frame = spec.background(frame, t)
            if spec.tamper is not None and spec.start_s <= t < spec.end_s:
                frame = spec.tamper(frame, t - spec.start_s)
            writer.write(frame)
    finally:
        writer.release()


def generate(
    out: Path, seed: int, small: bool = False, progress: Progress | None = None, limits: bool = False
) -> Summary:
    """Write the set's videos and ``labels.csv`` into ``out`` (created).

    Raises:
        SourceClipError: a bundled clip is missing or unreadable.
    """
    say = progress or (lambda _m: None)
    found = sources()
    rng = np.random.default_rng(seed)
    if limits:
        specs = limits_plan(rng, list(found))
    else:
        specs = small_plan(rng) if small else plan(rng, list(found), per_bucket=2)
    width = SMALL_WIDTH if small else None
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    for n, spec in enumerate(specs, start=1):
        write(spec, found[spec.source], out, width)
        say(f"[{n}/{len(specs)}] {spec.name}.mp4: {spec.state or 'untouched'} {spec.detail}")
        if spec.state is not None:
            rows.append(
                {
                    "video": f"{spec.name}.mp4",
                    "state": spec.state,
                    "start_s": f"{spec.start_s:.2f}",
                    "end_s": f"{spec.end_s:.2f}",
                    "tag": f"{spec.state}/{spec.tag}",
                    "source": spec.source,
                    "detail": spec.detail,
                }
            )
    _write_labels(out / "labels.csv", rows)
    return Summary(len(specs), len(rows), tuple(s.name for s in specs))


def _write_labels(path: Path, rows: list[dict[str, str]]) -> None:
    columns = ["video", "state", "start_s", "end_s", "tag", "source", "detail"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def frames_of(path: Path) -> list[NDArray[np.uint8]]:
    """Every frame of a written video (for checks)."""
    capture = cv2.VideoCapture(str(path))
    frames: list[NDArray[np.uint8]] = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(np.asarray(frame, dtype=np.uint8))
    capture.release()
    return frames
