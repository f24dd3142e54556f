"""The moving part of an evidence package: a short MP4 clip spanning the offence and its annotated copy.

The clip of the original frames is written untouched (no drawing); the annotated copy draws the scene lines, the
vehicle's box in every frame (measured boxes solid, boxes between two measured samples interpolated and thin) and
its path so far. Both are hashed in the manifest like every other file.

Codec: H.264 (``avc1``/``H264``) is tried first, but the FFmpeg inside the ``opencv-python`` wheel ships no H.264
encoder (OpenCV 4.14: neither opens), so both clips fall back to MPEG-4 Part 2 (``mp4v``: 0.3 s for 30 frames of
640x352; plays in VLC/ffplay, not in browsers). The browser-playable encoders the wheel has are far too slow for a
camera's evidence worker (VP9 ``vp09`` in MP4: 16 s for the same 30 frames, 4.8 s at 320 px wide; VP8 WebM 5 s), so
VP9 is opt-in (``preview_codecs``) and the annotated copy is scaled to ``preview_width``. The codec used is recorded
per file in the manifest.
"""

from __future__ import annotations

import functools
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.traffic.rules.base import TrackView, Violation
from edge.traffic.scene import SceneConfig

logger = logging.getLogger(__name__)

LINE_COLOURS = {"stop": (0, 0, 255), "solid": (255, 255, 255), "dashed": (200, 200, 200), "counting": (255, 0, 0)}
BOX_COLOUR = (0, 255, 0)


class ClipError(RuntimeError):
    """No listed codec can write a clip with this OpenCV build."""


@dataclass(frozen=True, slots=True)
class ClipFrame:
    """One source frame of the clip: its index, capture time and pixels (never drawn on)."""

    frame_index: int
    t: float
    image: NDArray[np.uint8]


def boxes_at(track: TrackView, frame_index: int) -> tuple[NDArray[np.float64] | None, bool]:
    """The vehicle's ``(4,)`` xyxy box at a source frame and whether it was measured there (False: interpolated
    between the two measured samples around it); None outside the track or when the track carries no boxes."""
    boxes, frames = track.boxes_xyxy, track.frame_index
    if boxes is None or frames is None or len(frames) == 0 or not frames[0] <= frame_index <= frames[-1]:
        return None, False
    exact = np.flatnonzero(frames == frame_index)
    if len(exact):
        return np.asarray(boxes[int(exact[0])], np.float64), True
    box = np.array([np.interp(frame_index, frames, boxes[:, k]) for k in range(4)], np.float64)
    return box, False


def _draw_scene(out: NDArray[np.uint8], scene: SceneConfig, line_id: str | None) -> None:
    for line in scene.lines:
        p1, p2 = (int(line.p1[0]), int(line.p1[1])), (int(line.p2[0]), int(line.p2[1]))
        cv2.line(out, p1, p2, LINE_COLOURS.get(line.kind.value, (255, 255, 255)), 2 if line.id == line_id else 1)


def annotate_frame(
    image: NDArray[np.uint8], track: TrackView, scene: SceneConfig, violation: Violation, frame_index: int
) -> NDArray[np.uint8]:
    """A drawn COPY of one frame (the original is left as it is): scene lines, the path up to this frame, the
    vehicle's box and a label."""
    out = image.copy()
    _draw_scene(out, scene, violation.line_id)
    upto = len(track) if track.frame_index is None else int(np.searchsorted(track.frame_index, frame_index, "right"))
    if upto >= 2:
        pts = np.round(track.image_xy[:upto]).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(out, [pts], isClosed=False, color=(0, 255, 255), thickness=2)
    box, measured = boxes_at(track, frame_index)
    if box is not None:
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), BOX_COLOUR, 2 if measured else 1)
        cv2.putText(out, f"#{track.track_id} {track.vehicle_class}", (x1, max(12, y1 - 4)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, BOX_COLOUR, 1)  # fmt: skip
    cv2.putText(out, f"{violation.kind} track {violation.track_id}", (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                (0, 255, 255), 2)  # fmt: skip
    return np.asarray(out, dtype=np.uint8)


def annotate(
    image: NDArray[np.uint8], track: TrackView, scene: SceneConfig, violation: Violation, frame_index: int | None = None
) -> NDArray[np.uint8]:
    """The annotated still of the deciding frame: ``annotate_frame`` plus a circle on the deciding point."""
    at = min(violation.index, len(track) - 1)
    if frame_index is None:
        frame_index = int(track.frame_index[at]) if track.frame_index is not None else -1
    out = annotate_frame(image, track, scene, violation, frame_index)
    point = track.image_xy[at]
    cv2.circle(out, (int(point[0]), int(point[1])), 6, (0, 0, 255), 2)
    return out


@functools.lru_cache(maxsize=16)
def writable_codec(codecs: tuple[str, ...]) -> str | None:
    """The first FOURCC of ``codecs`` this OpenCV build can write into an MP4 file, else None (probed once)."""
    with tempfile.TemporaryDirectory() as tmp:
        for fourcc in codecs:
            path = Path(tmp) / f"probe-{fourcc}.mp4"
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), 10.0, (64, 48))
            try:
                if writer.isOpened():
                    writer.write(np.zeros((48, 64, 3), np.uint8))
                    return fourcc
            finally:
                writer.release()
            logger.info("clip codec %s is not available in this OpenCV/FFmpeg build", fourcc)
    return None


def encode_clip(
    images: Sequence[NDArray[np.uint8]], fps: float, codecs: tuple[str, ...], width: int | None = None
) -> tuple[bytes, str]:
    """MP4 bytes of ``images`` (all the same size) and the FOURCC used.

    Args:
        images: (H, W, 3) BGR frames in time order.
        fps: playback frame rate (the source's, from the capture times).
        codecs: FOURCCs in order of preference.
        width: scale frames to this width (keeping the aspect) when smaller than theirs; None keeps the size.

    Raises:
        ClipError: no codec of ``codecs`` is available, or nothing was written.
    """
    if not images:
        raise ClipError("a clip needs at least one frame")
    fourcc = writable_codec(tuple(codecs))
    if fourcc is None:
        raise ClipError(f"none of the codecs {list(codecs)} can be written by this OpenCV build")
    h, w = images[0].shape[:2]
    size = (w, h)
    if width is not None and width < w:
        size = (width - width % 2, round(h * width / w) // 2 * 2)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), float(fps), size)
        try:
            for image in images:
                frame = image if size == (w, h) else cv2.resize(image, size, interpolation=cv2.INTER_AREA)
                writer.write(np.ascontiguousarray(frame))
        finally:
            writer.release()
        data = path.read_bytes() if path.is_file() else b""
    if not data:
        raise ClipError(f"the {fourcc} writer produced no bytes")
    return data, fourcc


def clip_fps(frames: Sequence[ClipFrame]) -> float:
    """Frames per second of the source over the clip (from the capture times), bounded to 1-120."""
    if len(frames) < 2 or frames[-1].t <= frames[0].t:
        return 10.0
    return float(min(max((len(frames) - 1) / (frames[-1].t - frames[0].t), 1.0), 120.0))


def decode_clip(data: bytes) -> list[NDArray[np.uint8]]:
    """The frames of MP4 bytes (for tests and the verifier's frame count)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        path.write_bytes(data)
        capture = cv2.VideoCapture(str(path))
        frames: list[NDArray[np.uint8]] = []
        try:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                frames.append(np.asarray(frame, np.uint8))
        finally:
            capture.release()
    return frames
