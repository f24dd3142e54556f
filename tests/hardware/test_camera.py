"""Frame sources: a file reports its end; a live stream that drops is reconnected with back-off and reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from hardware.camera import FrameSourceError, StreamConfig, StreamSource, VideoFileSource
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

    from edge.school.agent import HEALTH_KEY, report_source_health
    from edge.spool import Spool

    spool = Spool(tmp_path / "spool.sqlite")
    captures = [ScriptedCapture(True, 2), ScriptedCapture(True, 1)]
    config = StreamConfig(uri="rtsp://door/1", backoff_initial_s=0.0, max_attempts=1, failed_reads_before_drop=1)
    source = StreamSource(
        config, opener=lambda uri: captures.pop(0) if captures else ScriptedCapture(False, 0), sleep=lambda s: None
    )
    reported = report_source_health(spool, source.status(), None)
    states = []
    for _ in source:
        reported = report_source_health(spool, source.status(), reported)
        states.append(json.loads(spool.get_state(HEALTH_KEY) or "{}"))
    reported = report_source_health(spool, source.status(), reported)
    final = json.loads(spool.get_state(HEALTH_KEY) or "{}")
    assert [s["reconnects"] for s in states] == [0, 0, 1]
    assert final["state"] == "failed" and final["drops"] == 2 and final["reconnects"] == 1
    assert final["frames"] == 3 and final["last_error"]
