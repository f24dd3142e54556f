"""Evidence clips as H.264 MP4 (FFmpeg/libx264 from imageio-ffmpeg, which browsers play in place): they decode back
to every frame at the right size and codec; OpenCV's mp4v writer only when that binary is unavailable (logged); an
FFmpeg failure or a hung encode is an error that carries FFmpeg's own words, never an empty clip."""

from __future__ import annotations

import logging
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.traffic.evidence_clip import (
    H264,
    ClipError,
    decode_clip,
    encode_clip,
    encode_h264,
    ffmpeg_exe,
    writable_codec,
)

CODECS = ("avc1", "H264", "mp4v")  # the EvidenceConfig default
FRAMES = 15


def frames(width: int, height: int) -> list[np.ndarray]:
    """A car-sized block driving across a gradient road."""
    out = []
    for k in range(FRAMES):
        img = np.full((height, width, 3), 80, np.uint8)
        img[:, :, 0] = np.linspace(40, 160, width, dtype=np.uint8)[None, :]
        x = 10 + k * (width - 70) // FRAMES
        cv2.rectangle(img, (x, height // 3), (x + 50, height // 3 + 30), (30, 60, 200), -1)
        out.append(img)
    return out


def probe(data: bytes) -> tuple[str, int, tuple[int, int], str]:
    """What a reader sees in MP4 bytes: OpenCV's FOURCC, frame count and (w, h), and FFmpeg's stream line."""
    exe = ffmpeg_exe()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        path.write_bytes(data)
        capture = cv2.VideoCapture(str(path))
        try:
            fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode()
        finally:
            capture.release()
        info = "" if exe is None else subprocess.run([exe, "-hide_banner", "-i", str(path)], capture_output=True,
                                                     text=True, timeout=30, check=False).stderr  # fmt: skip
    decoded = decode_clip(data)
    stream = next((line.strip() for line in info.splitlines() if "Video:" in line), "")
    return fourcc, len(decoded), (decoded[0].shape[1], decoded[0].shape[0]), stream


needs_ffmpeg = pytest.mark.skipif(ffmpeg_exe() is None, reason="imageio-ffmpeg's FFmpeg with libx264 is not installed")


@pytest.fixture
def no_ffmpeg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The FFmpeg binary is unavailable (imageio-ffmpeg pointed at a missing file)."""
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(tmp_path / "no-such-ffmpeg"))
    ffmpeg_exe.cache_clear()
    yield
    ffmpeg_exe.cache_clear()


@needs_ffmpeg
@pytest.mark.parametrize(
    ("size", "width", "written"),
    [
        ((400, 300), None, (400, 300)),  # as it is
        ((401, 301), None, (402, 302)),  # odd sides padded by one black row and column, nothing cropped
        ((400, 300), 200, (200, 150)),  # the annotated copy at preview_width
    ],
)
def test_clips_are_h264_and_decode_to_every_frame(
    size: tuple[int, int], width: int | None, written: tuple[int, int]
) -> None:
    images = frames(*size)
    originals = [img.copy() for img in images]
    data, codec = encode_clip(images, 10.0, CODECS, width)
    assert codec == H264 and data[4:8] == b"ftyp"
    fourcc, count, got, stream = probe(data)
    assert (fourcc, count, got) == ("h264", FRAMES, written)
    assert "Video: h264" in stream and "yuv420p" in stream and f"{written[0]}x{written[1]}" in stream
    assert all(np.array_equal(a, b) for a, b in zip(images, originals, strict=True))  # the frames are not touched
    if width is None:
        decoded = decode_clip(data)
        error = np.abs(decoded[7][: size[1], : size[0]].astype(int) - originals[7].astype(int)).mean()
        assert error < 4.0  # the picture survives (crf 23), not just the frame count


@needs_ffmpeg
def test_a_failing_encode_is_an_error_with_ffmpegs_words() -> None:
    exe = ffmpeg_exe()
    assert exe is not None
    with pytest.raises(ClipError, match=r"failed \(exit [1-9].*crf"):
        encode_h264(frames(64, 48), 10.0, (64, 48), exe, crf=-5)
    with pytest.raises(ClipError, match=r"did not finish within 0\.001 s"):
        encode_h264(frames(640, 480), 10.0, (640, 480), exe, timeout_s=0.001)


def test_without_the_binary_the_mp4v_fallback_is_used_and_logged(
    no_ffmpeg: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="edge.traffic.evidence_clip"):
        data, codec = encode_clip(frames(200, 150), 10.0, CODECS)
    assert codec == "mp4v"
    fourcc, count, got, _ = probe(data)
    assert (fourcc, count, got) == ("FMP4", FRAMES, (200, 150))  # OpenCV's reader names MPEG-4 Part 2 FMP4
    messages = " | ".join(r.getMessage() for r in caplog.records)
    assert "no-such-ffmpeg" in messages and "fall back to OpenCV" in messages
    assert "clip written as mp4v" in messages
    if writable_codec(("avc1",)) is None:  # the opencv-python wheel: no H.264 encoder of its own
        with pytest.raises(ClipError, match="none of the codecs"):
            encode_clip(frames(64, 48), 10.0, ("avc1",))  # H.264 only, and no binary: an error, not an empty clip
