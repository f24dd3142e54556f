"""The traffic frame loop gets each frame's container time from the source: a lost frame is a gap in time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from edge.traffic.stream import read_frames
from tests.hardware.test_camera import _write_vfr


def test_traffic_stream_reads_the_same_container_times(tmp_path: Path) -> None:
    kept = [0, 40, 80, 200, 240, 280, 400]
    video = tmp_path / "gaps.mp4"
    _write_vfr(video, kept)
    start = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    frames = list(read_frames(video, start_time=start.timestamp()))
    assert [round(f.captured_at.timestamp() - start.timestamp(), 3) for f in frames] == [p / 1000 for p in kept]
