"""The moving part of an evidence package: a short MP4 clip spanning the offence and its annotated copy.

The clip of the original frames is written untouched (no drawing); the annotated copy draws the scene lines, the
vehicle's box in every frame (measured boxes solid, boxes between two measured samples interpolated and thin) and
its path so far. Both are hashed in the manifest like every other file.

Codec: H.264 in MP4 (recorded as ``h264``, what ``cv2.CAP_PROP_FOURCC`` reads back), encoded by piping the raw BGR
frames to the FFmpeg binary of ``imageio-ffmpeg`` (libx264, ``yuv420p``, ``+faststart``: browsers play it in place;
an odd width or height is padded by one black row/column, never cropped). The FFmpeg inside the ``opencv-python``
wheel ships no H.264 encoder (``avc1``/``H264`` do not open), so OpenCV's ``VideoWriter`` with the configured
FOURCCs (in practice MPEG-4 Part 2 ``mp4v``, which browsers do not play) is only the fallback when that binary is
unavailable, and is logged. VP9 (``vp09``, ~16 s for 30 frames of 640x352) stays opt-in by listing it before the
H.264 names in ``preview_codecs``. The annotated copy is scaled to ``preview_width``. The codec used is recorded per
file in the manifest.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
import tempfile
import threading
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


H264 = "h264"
"""The codec name recorded for clips encoded by FFmpeg's libx264."""
H264_NAMES = frozenset({"avc1", "H264", "h264", "X264", "x264"})
"""Names in a codec list that ask for H.264 (FFmpeg/libx264 when its binary is available)."""
FFMPEG_TIMEOUT_S = 60.0
"""Longest an FFmpeg encode may take (90 frames of 1080p take a few seconds on one core)."""


class ClipError(RuntimeError):
    """No listed codec can write the clip, or the encoder failed (the reason, with FFmpeg's own words)."""


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


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str | None:
    """imageio-ffmpeg's FFmpeg binary when it exists and has libx264, else None (looked up once; logged)."""
    try:
        import imageio_ffmpeg  # type: ignore[import-untyped]

        named = str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        logger.warning("no FFmpeg for H.264 clips (%s); clips fall back to OpenCV's writer", exc)
        return None
    exe = shutil.which(named)
    if exe is None:
        logger.warning("FFmpeg %s (from imageio-ffmpeg) is missing; clips fall back to OpenCV's writer", named)
        return None
    try:
        command = [exe, "-hide_banner", "-encoders"]
        encoders = subprocess.run(command, check=False, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        logger.warning("FFmpeg %s does not run (%s); clips fall back to OpenCV's writer", exe, exc)
        return None
    if "libx264" not in encoders.stdout:
        logger.warning("FFmpeg %s has no libx264; clips fall back to OpenCV's writer", exe)
        return None
    return exe


def _sized(images: Sequence[NDArray[np.uint8]], width: int | None) -> tuple[int, int]:
    """The ``(w, h)`` the clip is written at: the frames' own, or ``width`` wide (even) when smaller."""
    h, w = images[0].shape[:2]
    if width is not None and width < w:
        return width - width % 2, round(h * width / w) // 2 * 2
    return w, h


def _frame(image: NDArray[np.uint8], size: tuple[int, int]) -> NDArray[np.uint8]:
    if image.shape[1] == size[0] and image.shape[0] == size[1]:
        return np.ascontiguousarray(image)
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def encode_h264(
    images: Sequence[NDArray[np.uint8]],
    fps: float,
    size: tuple[int, int],
    exe: str,
    crf: int = 23,
    timeout_s: float = FFMPEG_TIMEOUT_S,
) -> bytes:
    """H.264 MP4 bytes of ``images`` (scaled to ``size``) by piping raw BGR frames to FFmpeg's libx264.

    An odd width or height is padded by one black column/row (yuv420p needs even sides); no pixel is cropped.

    Raises:
        ClipError: FFmpeg failed (its exit code and stderr), took longer than ``timeout_s`` (killed) or wrote
            nothing.
    """
    w, h = size
    with tempfile.TemporaryDirectory() as tmp:
        path, log = Path(tmp) / "clip.mp4", Path(tmp) / "ffmpeg.log"
        command = [
            exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", f"{fps:.6g}", "-i", "-",
            "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf),
            "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", str(path),
        ]  # fmt: skip
        with log.open("wb") as stderr:
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr)
            timed_out = threading.Event()

            def kill() -> None:
                timed_out.set()
                process.kill()

            timer = threading.Timer(timeout_s, kill)
            timer.start()
            try:
                _feed(process, images, size)
                code = process.wait()
            finally:
                timer.cancel()
                if process.poll() is None:
                    process.kill()
                    process.wait()
        reason = log.read_text(errors="replace").strip()[-800:]
        if timed_out.is_set():
            raise ClipError(f"FFmpeg libx264 did not finish within {timeout_s:g} s (killed): {reason}")
        if code != 0:
            raise ClipError(f"FFmpeg libx264 failed (exit {code}) on {len(images)} frames of {w}x{h}: {reason}")
        data = path.read_bytes() if path.is_file() else b""
    if not data:
        raise ClipError(f"FFmpeg libx264 wrote no bytes: {reason}")
    return data


def _feed(process: subprocess.Popen[bytes], images: Sequence[NDArray[np.uint8]], size: tuple[int, int]) -> None:
    """Write the frames to FFmpeg's stdin and close it; a closed pipe (FFmpeg died) is left to its exit code."""
    assert process.stdin is not None
    try:
        for image in images:
            process.stdin.write(_frame(image, size).tobytes())
        process.stdin.close()
    except BrokenPipeError:
        logger.debug("FFmpeg closed its input early; its exit code and stderr say why")
        try:
            process.stdin.close()
        except BrokenPipeError:
            logger.debug("unflushed frames dropped with FFmpeg's input")


def encode_opencv(images: Sequence[NDArray[np.uint8]], fps: float, size: tuple[int, int], fourcc: str) -> bytes:
    """MP4 bytes of ``images`` written by OpenCV's ``VideoWriter`` with ``fourcc`` (the fallback path)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), float(fps), size)
        try:
            for image in images:
                writer.write(_frame(image, size))
        finally:
            writer.release()
        data = path.read_bytes() if path.is_file() else b""
    if not data:
        raise ClipError(f"the {fourcc} writer produced no bytes")
    return data


def encode_clip(
    images: Sequence[NDArray[np.uint8]], fps: float, codecs: tuple[str, ...], width: int | None = None
) -> tuple[bytes, str]:
    """MP4 bytes of ``images`` (all the same size) and the codec used (``h264``, or the OpenCV FOURCC).

    The first entry of ``codecs`` that can be written wins: an H.264 name (``avc1``, ``H264``, ``h264``) is
    encoded by FFmpeg/libx264 when ``ffmpeg_exe()`` finds it, any other FOURCC (and an H.264 one without that
    binary) by OpenCV's writer when this OpenCV build opens it.

    Args:
        images: (H, W, 3) BGR frames in time order.
        fps: playback frame rate (the source's, from the capture times).
        codecs: codec names in order of preference.
        width: scale frames to this width (keeping the aspect) when smaller than theirs; None keeps the size.

    Raises:
        ClipError: no codec of ``codecs`` is available, or the encoder failed or wrote nothing.
    """
    if not images:
        raise ClipError("a clip needs at least one frame")
    size = _sized(images, width)
    exe = ffmpeg_exe() if any(c in H264_NAMES for c in codecs) else None
    for k, codec in enumerate(codecs):
        if codec in H264_NAMES and exe is not None:
            return encode_h264(images, fps, size, exe), H264
        fourcc = writable_codec((codec,))
        if fourcc is not None:
            if k and any(c in H264_NAMES for c in codecs[:k]):
                logger.info("H.264 unavailable (no FFmpeg with libx264); clip written as %s", fourcc)
            return encode_opencv(images, fps, size, fourcc), fourcc
    raise ClipError(f"none of the codecs {list(codecs)} can be written (no FFmpeg with libx264, nor by OpenCV)")


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
