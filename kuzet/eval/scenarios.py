"""Traffic scenarios (``kuzet-scenario/1``, contract: ../shared/EVAL.md) through the traffic pipeline's own parts.

``run_scenario`` feeds a scenario's per-frame boxes, in capture-time order, to the pipeline's ByteTrack tracker
(default ``TrackerConfig``); each confirmed track's measured boxes become a ``TrackView`` through
``edge.traffic.tracks.track_view`` (the scenario's calibration and survey doubt, the default ``SpeedConfig`` with the
scenario's timestamp sigma) when the tracker drops it or the scenario ends, and ``edge.traffic.rules.evaluate_rules``
judges it with the default ``RulesConfig`` and one controller timeline per signal head. The scenario's ``truth`` is
never read here, and the tracker sees boxes, classes and scores only: each detection's true ``object`` travels in a
side column the tracker does not read, to attribute tracks when scoring.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from edge.tracking.bytetrack import ByteTracker, TrackerConfig
from edge.traffic.calibration import Calibration, CalibrationConfig, CalibrationError
from edge.traffic.rules import evaluate_rules
from edge.traffic.rules.base import PhaseChange, RulesConfig, SignalSource, SignalState, SignalTimeline, Violation
from edge.traffic.rules.repeat import OffenceMemory
from edge.traffic.scene import SceneConfig
from edge.traffic.signals import NO_HEAD, govern_lines, head_timelines
from edge.traffic.speed import SpeedConfig, SpeedEstimate
from edge.traffic.tracks import track_view
from kuzet.eval.common import LayoutError
from models.detections import Detections
from models.vehicles.detector import VEHICLE_NAMES

FORMAT = "kuzet-scenario/1"
NO_SIGNAL = NO_HEAD  # head id of lines that name no signal (the contract: no signal governs them)
MIN_TRACK_SAMPLES = 5  # the traffic config's default min_track_samples
_STATES = {"red": "red", "amber": "amber", "yellow": "amber", "green": "green"}  # anything else: unknown


@dataclass(frozen=True, slots=True)
class ScenarioTrack:
    """One closed track: its view and speed, and how many of its detections came from each true object."""

    track_id: int
    speed: SpeedEstimate
    objects: Counter[int]
    violations: tuple[Violation, ...]

    @property
    def owner(self) -> int:
        """The object that supplied most of its detections (-1 = false detections)."""
        return self.objects.most_common(1)[0][0] if self.objects else -1


@dataclass(slots=True)
class ScenarioRun:
    """What the pipeline decided on one scenario."""

    scenario_id: str
    tags: tuple[str, ...]
    tracks: list[ScenarioTrack] = field(default_factory=list)


def scenario_files(data: Path) -> list[Path]:
    """The folder's ``*.json`` files (sorted); ``LayoutError`` when it is not a folder or has none."""
    if not data.is_dir():
        raise LayoutError(f"{data} is not a folder")
    files = sorted(data.glob("*.json"))
    if not files:
        raise LayoutError(f"{data} has no *.json scenario files (format {FORMAT})")
    return files


def load_scenario(path: Path) -> dict[str, Any]:
    """One scenario file; ``LayoutError`` naming what is wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LayoutError(f"{path}: not a readable JSON scenario ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise LayoutError(f"{path}: format is not {FORMAT!r}")
    missing = [k for k in ("image_size", "calibration", "scene", "frames") if k not in data]
    if missing:
        raise LayoutError(f"{path}: lacks {', '.join(missing)}")
    return data


def _clamp(point: Any, size: tuple[int, int]) -> tuple[float, float]:
    return (min(max(float(point[0]), 0.0), float(size[0])), min(max(float(point[1]), 0.0), float(size[1])))


def scenario_scene(data: dict[str, Any]) -> SceneConfig:
    """The scene config of a scenario (points clamped to the frame), each stop / junction-entry line naming its
    signal head through ``edge.traffic.signals.govern_lines``, as in the live agent; a line naming none gets none
    (``NO_SIGNAL``)."""
    size = (int(data["image_size"][0]), int(data["image_size"][1]))
    scene = data["scene"]
    lanes = [{**lane, "polygon": [_clamp(p, size) for p in lane["polygon"]]} for lane in scene.get("lanes", [])]
    lines = [
        {
            **line,
            "p1": _clamp(line["p1"], size),
            "p2": _clamp(line["p2"], size),
            "signal": line.get("signal") or None,
        }
        for line in scene.get("lines", [])
    ]
    config = SceneConfig.model_validate({"image_size": size, "lanes": lanes, "lines": lines, "utc_offset_minutes": 0})
    return govern_lines(config, lambda line: line.signal)


def scenario_signals(data: dict[str, Any]) -> dict[str, SignalTimeline]:
    """One controller timeline per signal head (states other than red/amber/green are unknown)."""
    out: dict[str, SignalTimeline] = {}
    for head, changes in (data.get("signals") or {}).items():
        phases = [PhaseChange(float(t), SignalState(_STATES.get(str(s).lower(), "unknown"))) for t, s in changes]
        out[str(head)] = SignalTimeline(phases, SignalSource.CONTROLLER)
    return out


def scenario_calibration(data: dict[str, Any]) -> Calibration | None:
    """The camera's calibration from its survey (None when the survey gives no usable homography)."""
    survey = data["calibration"]
    try:
        config = CalibrationConfig(
            version="scenario",
            image_points=[tuple(p) for p in survey["image_points"]],
            road_points=[tuple(p) for p in survey["road_points"]],
            point_sigma_m=float(survey.get("point_sigma_m", 0.05)),
            scale_sigma=float(survey.get("scale_sigma", 0.0)),
            max_error_m=10.0,
        )
        return Calibration(config)
    except (ValidationError, CalibrationError, KeyError, TypeError) as exc:
        raise LayoutError(f"scenario {data.get('id')}: unusable calibration ({exc})") from exc


def _detections(frame: dict[str, Any], names: list[str]) -> Detections:
    rows = [d for d in frame.get("detections", []) if str(d[4]) in VEHICLE_NAMES]
    if not rows:
        return Detections.build(np.zeros((0, 4)), np.zeros(0), data={"object": np.zeros(0, np.int64)})
    for d in rows:
        if str(d[4]) not in names:
            names.append(str(d[4]))
    return Detections.build(
        np.array([d[:4] for d in rows], np.float32),
        np.array([d[5] for d in rows], np.float32),
        np.array([names.index(str(d[4])) for d in rows], np.int32),
        data={"object": np.array([int(d[6]) if len(d) > 6 else -1 for d in rows], np.int64)},
    )


@dataclass(slots=True)
class _Track:
    t: list[float] = field(default_factory=list)
    boxes: list[Any] = field(default_factory=list)
    classes: list[int] = field(default_factory=list)
    objects: list[int] = field(default_factory=list)


def run_scenario(data: dict[str, Any], rules: RulesConfig | None = None) -> ScenarioRun:
    """Tracker, calibration, speed and rules on one scenario (its ``truth`` is not read)."""
    scene, calibration = scenario_scene(data), scenario_calibration(data)
    signals = head_timelines(scene, scenario_signals(data).get)  # each line's own head, as in the live agent
    sigma_t = float((data.get("timing") or {}).get("timestamp_sigma_s", 0.002))
    speed_config = SpeedConfig(timestamp_sigma_s=min(max(sigma_t, 0.0), 1.0))
    rules = rules or RulesConfig()
    tracker = ByteTracker(TrackerConfig())
    repeats = OffenceMemory(rules.repeat)  # as the live stage: a broken track's second half is not booked again
    names: list[str] = []
    open_tracks: dict[int, _Track] = {}
    out = ScenarioRun(str(data.get("id", "")), tuple(data.get("tags", [])))

    def close(ids: list[int]) -> None:
        for track_id in ids:
            track = open_tracks.pop(track_id, None)
            if track is None or len(track.t) < MIN_TRACK_SAMPLES:
                continue
            counts = Counter(track.classes)
            vehicle_class = names[counts.most_common(1)[0][0]]
            t, boxes = np.asarray(track.t), np.asarray(track.boxes, np.float64)
            view, speed = track_view(track_id, vehicle_class, t, boxes, None, calibration, scene, speed_config)
            found = repeats.filter(view, evaluate_rules([view], scene, signals, rules))
            out.tracks.append(ScenarioTrack(track_id, speed, Counter(track.objects), tuple(found)))

    for frame in sorted(data["frames"], key=lambda f: float(f["t"])):
        t = float(frame["t"])
        tracked = tracker.update(_detections(frame, names))
        for row, track_id in enumerate(tracked.tracker_id.tolist()):
            track = open_tracks.setdefault(track_id, _Track())
            if track.t and t <= track.t[-1]:
                continue
            track.t.append(t)
            track.boxes.append(tracked.xyxy[row])
            track.classes.append(int(tracked.class_id[row]))
            track.objects.append(int(tracked.data["object"][row]))
        close(tracker.removed_ids)
    close(list(open_tracks))
    return out
