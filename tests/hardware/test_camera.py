"""Frame sources: a file reports its end; a live stream that drops is reconnected with back-off and reported."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from hardware.camera import (
    DEFAULT_FPS,
    Frame,
    FrameSourceError,
    ReadAhead,
    SourceStatus,
    StreamConfig,
    StreamSource,
    VideoFileSource,
    open_source,
)
from kuzet.contracts import ClockSource


def _write_video(path: Path, frames: int, fps: float = 10.0) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), i * 10 % 255, np.uint8))
    writer.release()


def test_file_source_timestamps_and_end(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    _write_video(video, 7)
    start = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    source = VideoFileSource(video, start=start)
    frames = list(source)
    assert len(frames) == 7
    assert [f.index for f in frames] == list(range(7))
    assert frames[3].captured_at == start + timedelta(seconds=0.3)
    assert all(f.clock_source is ClockSource.FILE and f.image.shape == (48, 64, 3) for f in frames)
    status = source.status()
    assert status.state == "ended" and status.frames == 7 and status.drops == 0
    assert source.read() is None


def test_file_source_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FrameSourceError, match="does not exist"):
        VideoFileSource(tmp_path / "gone.mp4")


class ScriptedCapture:
    """A fake ``cv2.VideoCapture`` (the true external boundary): yields ``frames`` then fails every read."""

    def __init__(self, opens: bool, frames: int) -> None:
        self.opens = opens
        self.frames = frames
        self.released = False

    def isOpened(self) -> bool:  # noqa: N802
        return self.opens and not self.released

    def read(self) -> tuple[bool, Any]:
        if self.released or self.frames <= 0:
            return False, None
        self.frames -= 1
        return True, np.zeros((4, 6, 3), np.uint8)

    def get(self, prop_id: int) -> float:
        return 25.0

    def release(self) -> None:
        self.released = True


@pytest.mark.parametrize(
    ("script", "expected_frames", "drops", "reconnects", "attempts", "waits"),
    [
        # stream gives 2 frames, drops, first reopen fails, second reopen gives 3 frames, then it is gone for good
        ([(True, 2), (False, 0), (True, 3)], 5, 2, 1, 4, [0.5, 1.0, 0.5, 1.0]),
        # camera unplugged at start: one failed open, then 1 frame, then it drops and never comes back
        ([(False, 0), (True, 1)], 1, 1, 0, 2, [0.5, 0.5, 1.0]),
    ],
)
def test_stream_reconnects_after_drop_and_reports(
    script: list[tuple[bool, int]],
    expected_frames: int,
    drops: int,
    reconnects: int,
    attempts: int,
    waits: list[float],
) -> None:
    captures = [ScriptedCapture(opens, n) for opens, n in script]
    opened: list[str | int] = []

    def opener(uri: str | int) -> ScriptedCapture:
        opened.append(uri)
        return captures.pop(0) if captures else ScriptedCapture(False, 0)

    slept: list[float] = []
    config = StreamConfig(
        uri="rtsp://door/1", backoff_initial_s=0.5, backoff_max_s=4.0, max_attempts=2, failed_reads_before_drop=2
    )
    source = StreamSource(config, opener=opener, sleep=slept.append)
    frames = list(source)
    status = source.status()
    assert len(frames) == expected_frames
    assert [f.index for f in frames] == list(range(expected_frames))
    assert status.state == "failed"
    assert status.drops == drops
    assert status.reconnects == reconnects
    assert status.reconnect_attempts == attempts
    assert status.last_error is not None
    assert slept == waits
    assert all(f.clock_source is ClockSource.NTP for f in frames)
    assert opened[0] == "rtsp://door/1"


def test_stream_backoff_is_capped_and_usb_index_is_int() -> None:
    slept: list[float] = []
    opened: list[str | int] = []

    def opener(uri: str | int) -> ScriptedCapture:
        opened.append(uri)
        return ScriptedCapture(False, 0)

    config = StreamConfig(uri="0", backoff_initial_s=1.0, backoff_max_s=3.0, max_attempts=5)
    source = StreamSource(config, opener=opener, sleep=slept.append)
    assert source.read() is None
    assert slept == [1.0, 2.0, 3.0, 3.0]
    assert opened == [0] * 5
    assert source.status().state == "failed"


def test_file_that_disappears_as_a_stream_is_reported(tmp_path: Path) -> None:
    video = tmp_path / "cam.avi"
    _write_video(video, 4)
    config = StreamConfig(uri=str(video), backoff_initial_s=0.0, max_attempts=2, failed_reads_before_drop=1)
    source = StreamSource(config, sleep=lambda s: None)
    first = [source.read() for _ in range(4)]
    assert all(f is not None for f in first)
    video.unlink()
    assert source.read() is None
    status = source.status()
    assert status.drops == 1 and status.reconnects == 0 and status.reconnect_attempts == 2
    assert status.state == "failed" and "cannot open" in (status.last_error or "")


def test_agent_reports_camera_drops_in_spool_health(tmp_path: Path) -> None:
    import json

    from edge.camera.source_health import SourceHealth
    from edge.school.agent import HEALTH_KEY
    from edge.spool import Spool

    spool = Spool(tmp_path / "spool.sqlite")
    captures = [ScriptedCapture(True, 2), ScriptedCapture(True, 1)]
    config = StreamConfig(uri="rtsp://door/1", backoff_initial_s=0.0, max_attempts=1, failed_reads_before_drop=1)
    source = StreamSource(
        config, opener=lambda uri: captures.pop(0) if captures else ScriptedCapture(False, 0), sleep=lambda s: None
    )
    health = SourceHealth(spool, HEALTH_KEY)
    health.update(source.status())
    states = []
    for _ in source:
        health.update(source.status())
        states.append(json.loads(spool.get_state(HEALTH_KEY) or "{}"))
    health.update(source.status())
    final = json.loads(spool.get_state(HEALTH_KEY) or "{}")
    assert [s["reconnects"] for s in states] == [0, 0, 1]
    assert final["state"] == "failed" and final["drops"] == 2 and final["reconnects"] == 1
    assert final["frames"] == 3 and final["last_error"]


def test_open_source_picks_a_file_or_a_live_camera(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    _write_video(video, 3, fps=12.0)
    start = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    source = open_source(video, ClockSource.NTP, start)
    assert isinstance(source, VideoFileSource) and source.fps == 12.0 and source.start == start
    source.close()
    for uri in ("rtsp://door/1", "0"):
        live = open_source(uri, ClockSource.PTP)
        assert isinstance(live, StreamSource) and live.config.clock_source is ClockSource.PTP
        assert live.fps == DEFAULT_FPS  # until the camera is open and says otherwise
    with pytest.raises(FrameSourceError, match=r"cannot open video source .*does not exist"):
        open_source(tmp_path / "no.mp4")


def test_stream_reports_the_cameras_frame_rate_once_open() -> None:
    capture = ScriptedCapture(True, 1)
    source = StreamSource(StreamConfig(uri="rtsp://door/1"), opener=lambda uri: capture)
    assert source.fps == DEFAULT_FPS
    assert source.read() is not None and source.fps == 25.0


@pytest.mark.parametrize(("max_frames", "queue_size", "expected"), [(None, 2, 7), (4, 8, 4), (4, 1, 4), (0, 2, 0)])
def test_read_ahead_delivers_the_same_frames_in_order(
    tmp_path: Path, max_frames: int | None, queue_size: int, expected: int
) -> None:
    video = tmp_path / "clip.avi"
    _write_video(video, 7)
    start = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    direct = list(VideoFileSource(video, start=start))[:expected]
    inner = VideoFileSource(video, start=start)
    ahead = ReadAhead(inner, queue_size=queue_size, max_frames=max_frames)
    assert ahead.fps == 10.0
    frames = list(ahead)
    assert [(f.index, f.captured_at) for f in frames] == [(f.index, f.captured_at) for f in direct]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(frames, direct, strict=True))
    assert ahead.read() is None
    # the wrapped source is released at the end: it ended by itself, or was closed at max_frames
    assert inner.status().state == ("ended" if max_frames is None else "closed")


def test_read_ahead_close_stops_the_decoder_early(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    _write_video(video, 30)
    inner = VideoFileSource(video)
    ahead = ReadAhead(inner, queue_size=1)
    first = ahead.read()
    assert first is not None and first.index == 0
    ahead.close()
    assert ahead.read() is None and inner.status().state == "closed"


def test_read_ahead_raises_the_decoders_error() -> None:
    class Broken:
        fps = 25.0

        def __init__(self) -> None:
            self.calls = 0
            self.closed = False

        def read(self) -> Frame | None:
            self.calls += 1
            if self.calls > 2:
                raise OSError("device unplugged mid-read")
            return Frame(np.zeros((2, 2, 3), np.uint8), self.calls - 1, datetime.now(UTC), ClockSource.NTP)

        def status(self) -> SourceStatus:
            return SourceStatus(state="streaming")

        def close(self) -> None:
            self.closed = True

        def __iter__(self) -> Iterator[Frame]:
            raise NotImplementedError

    broken = Broken()
    ahead = ReadAhead(broken)
    assert [ahead.read() is not None for _ in range(2)] == [True, True]
    with pytest.raises(OSError, match="unplugged"):
        ahead.read()
    assert broken.closed


def _write_vfr(path: Path, pts_ms: list[int]) -> None:
    """An MPEG-4 clip whose frames carry the given presentation times (lost frames: gaps), written with PyAV."""
    av = pytest.importorskip("av", reason="PyAV writes the variable-rate clip")
    from fractions import Fraction

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for k, pts in enumerate(pts_ms):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (k * 17) % 255, np.uint8), format="bgr24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_file_frames_carry_their_container_times_so_lost_frames_leave_gaps(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    nominal = [40 * k for k in range(60)]
    kept = [p for p in nominal if p == 0 or rng.random() >= 0.1]  # ~10% of frames lost
    kept = [p + (3 if k % 2 else 0) for k, p in enumerate(kept)]  # and an irregular clock
    video = tmp_path / "vfr.mp4"
    _write_vfr(video, kept)
    start = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    frames = list(VideoFileSource(video, start=start))
    assert len(frames) == len(kept) < len(nominal)
    seconds = [(f.captured_at - start).total_seconds() for f in frames]
    assert seconds == pytest.approx([p / 1000.0 for p in kept], abs=1e-3)
    index_times = [f.index / 25.0 for f in frames]  # what start + index / fps would have said
    assert max(abs(a - b) for a, b in zip(seconds, index_times, strict=True)) > 0.1
