"""``kuzet eval health``: the camera tamper monitor on labelled video clips (contract: ../shared/EVAL.md).

A folder holds video files and ``labels.csv`` with ``video,state,start_s,end_s`` (one row per tampering interval;
state ``covered``, ``defocused``, ``moved`` or ``frozen``; a video without rows is untouched). An optional ``tag``
column (a magnitude or kind, such as ``shift-3%``) adds per-tag figures under ``by_tag``.

Each video is read through ``hardware.camera.open_source`` and its frames go, with the capture times the source
reports, to the edge agents' own ``CameraHealthMonitor`` with the default ``CameraHealthConfig`` (same thresholds and
hysteresis) and no recorded baseline, so the monitor takes its reference from the video's first seconds. Scoring,
with clip seconds measured from the first frame:

- ``detected``: the labelled state is active at some time in ``[start_s, start_s + 5]``;
- ``cleared``: among intervals that end before their clip (``clearable``), no state is active at some time in
  ``[end_s, end_s + 5]``;
- ``false_alarms``: raises of a non-healthy state outside every interval's window ``[start_s, end_s + 5]``;
- ``confused``: raises of another non-healthy state inside an interval's window.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.camera.config import CameraHealthConfig
from edge.camera.monitor import CameraHealthMonitor
from hardware.camera import FrameSourceError, open_source
from kuzet.eval.common import LayoutError, Progress, read_labels

logger = logging.getLogger(__name__)

STATES = ("covered", "defocused", "moved", "frozen")
COLUMNS = ("video", "state", "start_s", "end_s")
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts"})
WINDOW_S = 5.0  # a tamper must be raised within this of its start and cleared within this of its end
T0 = datetime(2026, 1, 1, tzinfo=UTC)  # capture time of each video's first frame
MAX_LISTED = 20


@dataclass(frozen=True, slots=True)
class Interval:
    """One labelled tampering interval of a video, clip seconds."""

    video: str
    state: str
    start_s: float
    end_s: float
    tag: str = ""

    def owns(self, t: float) -> bool:
        """True when a raise at ``t`` belongs to this interval (during it or while it may still be clearing)."""
        return self.start_s - 1e-6 <= t <= self.end_s + WINDOW_S


@dataclass(slots=True)
class Timeline:
    """What the monitor reported on one video: the active states after each change, and the clip's length."""

    changes: list[tuple[float, frozenset[str]]] = field(default_factory=list)
    duration_s: float = 0.0
    frames: int = 0
    monitor_s: float = 0.0

    def active_at(self, t: float) -> frozenset[str]:
        """The states active at clip second ``t``."""
        current: frozenset[str] = frozenset()
        for at, active in self.changes:
            if at > t + 1e-9:
                break
            current = active
        return current

    def first(self, predicate: Any, start: float, end: float) -> float | None:
        """The first clip second in ``[start, end]`` at which ``predicate(active)`` holds, or None."""
        if predicate(self.active_at(start)):
            return start
        for at, active in self.changes:
            if start < at <= end and predicate(active):
                return at
        return None

    def raises(self) -> list[tuple[float, str]]:
        """(clip second, state) of every state that became active."""
        out: list[tuple[float, str]] = []
        previous: frozenset[str] = frozenset()
        for at, active in self.changes:
            out.extend((at, s) for s in sorted(active - previous))
            previous = active
        return out


def read_health_labels(data: Path) -> tuple[list[Path], list[Interval]]:
    """The videos of ``data`` (every video file, and every one ``labels.csv`` names) and the labelled intervals.

    Raises:
        LayoutError: one line saying what the folder lacks or what a row gets wrong.
    """
    labels = data / "labels.csv"
    rows = read_labels(data, COLUMNS, allow_empty=True)  # a set of untouched clips has no rows
    intervals = [_interval(labels, n, row) for n, row in enumerate(rows, start=2)]
    videos = {p.relative_to(data).as_posix(): p for p in sorted(data.rglob("*")) if _is_video(p)}
    for interval in intervals:
        path = data / interval.video
        if not path.is_file():
            raise LayoutError(f"{labels}: video {interval.video!r} is not in {data}")
        videos.setdefault(interval.video, path)
    if not videos:
        raise LayoutError(f"{data} has no video files ({', '.join(sorted(VIDEO_SUFFIXES))})")
    return list(videos.values()), intervals


def _is_video(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES


def _interval(labels: Path, line: int, row: dict[str, str]) -> Interval:
    state = (row.get("state") or "").strip()
    if state not in STATES:
        raise LayoutError(f"{labels} line {line}: state must be one of {', '.join(STATES)}, found {state!r}")
    try:
        start, end = float(row["start_s"]), float(row["end_s"])
    except (TypeError, ValueError) as exc:
        raise LayoutError(f"{labels} line {line}: start_s and end_s must be seconds ({exc})") from exc
    if not 0.0 <= start < end:
        raise LayoutError(f"{labels} line {line}: needs 0 <= start_s < end_s, found {start} and {end}")
    return Interval((row.get("video") or "").strip(), state, start, end, (row.get("tag") or "").strip())


def watch(path: Path, config: CameraHealthConfig) -> Timeline:
    """Feed every frame of ``path`` to a fresh monitor at the capture times the source reports.

    Raises:
        FrameSourceError: the video cannot be opened.
    """
    monitor = CameraHealthMonitor(config)
    timeline = Timeline()
    source = open_source(path, start=T0)
    try:
        for frame in source:
            t = (frame.captured_at - T0).total_seconds()
            began = time.perf_counter()
            change = monitor.observe(frame.image, frame.captured_at)
            timeline.monitor_s += time.perf_counter() - began
            timeline.frames += 1
            timeline.duration_s = t + 1.0 / max(source.fps, 1e-6)
            if change is not None:
                timeline.changes.append((t, frozenset(s.value for s in change.active)))
    finally:
        source.close()
    return timeline


@dataclass(slots=True)
class _Score:
    intervals: int = 0
    detected: int = 0
    cleared: int = 0
    clearable: int = 0
    confused: int = 0
    delays: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "intervals": self.intervals,
            "detected": self.detected,
            "cleared": self.cleared,
            "clearable": self.clearable,
            "confused": self.confused,
            "mean_delay_s": round(sum(self.delays) / len(self.delays), 3) if self.delays else None,
            "max_delay_s": round(max(self.delays), 3) if self.delays else None,
        }


@dataclass(slots=True)
class _Tally:
    total: _Score = field(default_factory=_Score)
    by_state: dict[str, _Score] = field(default_factory=dict)
    by_tag: dict[str, _Score] = field(default_factory=dict)
    false_alarms: int = 0
    false_list: list[dict[str, Any]] = field(default_factory=list)
    missed_list: list[dict[str, Any]] = field(default_factory=list)

    def scores(self, interval: Interval) -> list[_Score]:
        out = [self.total, self.by_state.setdefault(interval.state, _Score())]
        if interval.tag:
            out.append(self.by_tag.setdefault(interval.tag, _Score()))
        return out


def _score_video(name: str, timeline: Timeline | None, intervals: list[Interval], tally: _Tally) -> None:
    for interval in intervals:
        scores = tally.scores(interval)
        for s in scores:
            s.intervals += 1
        when = None
        if timeline is not None:
            when = timeline.first(lambda a, i=interval: i.state in a, interval.start_s, interval.start_s + WINDOW_S)
        if when is None and len(tally.missed_list) < MAX_LISTED:
            tally.missed_list.append({"video": name, "state": interval.state, "start_s": interval.start_s})
        for s in scores:
            if when is not None:
                s.detected += 1
                s.delays.append(when - interval.start_s)
        if timeline is None or interval.end_s >= timeline.duration_s:
            continue
        healthy = timeline.first(lambda a: not a, interval.end_s, interval.end_s + WINDOW_S)
        for s in scores:
            s.clearable += 1
            s.cleared += healthy is not None
    if timeline is None:
        return
    for at, state in timeline.raises():
        owners = [i for i in intervals if i.owns(at)]
        if not owners:
            tally.false_alarms += 1
            if len(tally.false_list) < MAX_LISTED:
                tally.false_list.append({"video": name, "state": state, "t": round(at, 2)})
        for interval in owners:
            if state != interval.state and not any(o.state == state for o in owners):
                for s in tally.scores(interval):
                    s.confused += 1


def run(data: Path, progress: Progress | None = None, config: CameraHealthConfig | None = None) -> dict[str, Any]:
    """Evaluate the tamper monitor on ``data`` (see module docstring); the contract's JSON dict.

    Raises:
        LayoutError: the folder does not have the layout.
    """
    say = progress or (lambda _message: None)
    config = config or CameraHealthConfig()
    videos, intervals = read_health_labels(data)
    tally, frames, monitor_s, unreadable = _Tally(), 0, 0.0, 0
    monitor_log = logging.getLogger("edge.camera.monitor")
    level = monitor_log.level
    monitor_log.setLevel(max(level, logging.ERROR))  # every change is in the progress line: no warning per change
    try:
        for n, path in enumerate(videos, start=1):
            name = path.relative_to(data).as_posix()
            own = [i for i in intervals if i.video == name]
            try:
                timeline: Timeline | None = watch(path, config)
            except FrameSourceError as exc:
                logger.warning("%s", exc)
                timeline = None
            if timeline is None or timeline.frames == 0:
                unreadable += 1
            else:
                frames, monitor_s = frames + timeline.frames, monitor_s + timeline.monitor_s
            _score_video(name, timeline, own, tally)
            say(f"[{n}/{len(videos)}] {name}: {len(own)} interval(s), raised {_describe(timeline)}")
    finally:
        monitor_log.setLevel(level)
    result = tally.total.as_dict()
    result.update(
        videos=len(videos),
        unreadable=unreadable,
        false_alarms=tally.false_alarms,
        by_state={s: tally.by_state[s].as_dict() for s in STATES if s in tally.by_state},
        by_tag={t: score.as_dict() for t, score in sorted(tally.by_tag.items())},
        missed_list=tally.missed_list,
        false_list=tally.false_list,
        frames=frames,
        ms_per_frame=round(1000.0 * monitor_s / frames, 3) if frames else None,
    )
    return result


def _describe(timeline: Timeline | None) -> str:
    if timeline is None:
        return "nothing (unreadable)"
    raised = [f"{state}@{at:.1f}s" for at, state in timeline.raises()]
    return _join(raised) or "nothing"


def _join(parts: Iterable[str]) -> str:
    return ", ".join(parts)
