"""What every traffic rule takes and returns: ``TrackView`` in, ``Violation`` out, ``RulesConfig`` thresholds.

A rule is a small pure function ``rule(track, scene, signal, config) -> list[Violation]``; it never sees
frames and keeps no state, so the same track always gives the same verdict. The perception pipeline
converts its tracks into ``TrackView`` (one per track, the whole path so far) and calls
``edge.traffic.rules.evaluate_rules``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from edge.traffic.scene import Line, SceneConfig, lane_index
from edge.traffic.speed import SpeedEstimate
from hardware.signal import PhaseChange, SignalPhaseFeed, SignalTimeline
from kuzet.config import StrictModel
from kuzet.contracts import SignalSource, SignalState, ViolationKind

__all__ = [
    "PhaseChange",
    "RulesConfig",
    "SignalPhaseFeed",
    "SignalSource",
    "SignalState",
    "SignalTimeline",
    "TrackView",
    "Violation",
    "ViolationKind",
    "choose_signal",
]


def _readonly(array: NDArray[np.generic]) -> NDArray[np.generic]:
    out = np.array(array, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, slots=True)
class TrackView:
    """One vehicle track as the rules see it; arrays are copied read-only.

    Attributes:
        track_id: tracker id (>= 0).
        vehicle_class: ``car``, ``bus``, ``truck`` or ``motorcycle``.
        confirmed: the tracker confirmed the track over several frames; rules ignore
            unconfirmed tracks.
        t: (T,) float64 capture time of each sample, seconds, strictly increasing.
        image_xy: (T, 2) float64 bottom-centre of the box, image pixels.
        road_xy: (T, 2) float64 the same point on the road plane, metres, or None without calibration.
        speed_kmh: the tracker's speed estimate, or None.
        speed_sigma_kmh: one standard deviation of that estimate, or None.
        lane_ids: (T,) lane id per sample ("" = none), or None to let the rules locate lanes from the scene.
        frame_index: (T,) int64 source frame of each sample, or None (used by the evidence builder).
        boxes_xyxy: (T, 4) float64 the vehicle's box in each sample, image pixels, or None (drawn on the evidence;
            without it the rules take ``image_xy`` as the front and cannot tell clipped boxes).
        front_xy: (T, 2) float64 the vehicle's front on the road, image pixels, or None (then the rules take the
            box edge ahead in the direction of travel, ``edge.traffic.rules.geometry.front_points``).
        metres_per_px: (T,) float64 road metres per image pixel at each sample's front, or None (uncalibrated;
            margins are then in pixels only).
        speed_estimate: the full speed estimate (its sigma parts go into a speeding decision), or None.
    """

    track_id: int
    vehicle_class: str
    confirmed: bool
    t: NDArray[np.float64]
    image_xy: NDArray[np.float64]
    road_xy: NDArray[np.float64] | None = None
    speed_kmh: float | None = None
    speed_sigma_kmh: float | None = None
    lane_ids: tuple[str, ...] | None = None
    frame_index: NDArray[np.int64] | None = None
    boxes_xyxy: NDArray[np.float64] | None = None
    front_xy: NDArray[np.float64] | None = None
    metres_per_px: NDArray[np.float64] | None = None
    speed_estimate: SpeedEstimate | None = None

    def __post_init__(self) -> None:
        t = np.asarray(self.t, dtype=np.float64).reshape(-1)
        n = len(t)
        if n and np.any(np.diff(t) <= 0):
            raise ValueError(f"track {self.track_id}: t must be strictly increasing")
        object.__setattr__(self, "t", _readonly(t))
        for name, width in (("image_xy", 2), ("road_xy", 2), ("front_xy", 2), ("metres_per_px", 1)):
            value = getattr(self, name)
            if value is None:
                continue
            arr: NDArray[np.float64] = np.asarray(value, dtype=np.float64).reshape(-1, width)
            if width == 1:
                arr = arr.reshape(-1)
            if len(arr) != n:
                raise ValueError(f"track {self.track_id}: {name} has {len(arr)} rows, t has {n}")
            object.__setattr__(self, name, _readonly(arr))
        if self.lane_ids is not None and len(self.lane_ids) != n:
            raise ValueError(f"track {self.track_id}: lane_ids has {len(self.lane_ids)} items, t has {n}")
        if self.frame_index is not None:
            frames = np.asarray(self.frame_index, dtype=np.int64).reshape(-1)
            if len(frames) != n:
                raise ValueError(f"track {self.track_id}: frame_index has {len(frames)} rows, t has {n}")
            object.__setattr__(self, "frame_index", _readonly(frames))
        if self.boxes_xyxy is not None:
            boxes = np.asarray(self.boxes_xyxy, dtype=np.float64).reshape(-1, 4)
            if len(boxes) != n:
                raise ValueError(f"track {self.track_id}: boxes_xyxy has {len(boxes)} rows, t has {n}")
            object.__setattr__(self, "boxes_xyxy", _readonly(boxes))

    def __len__(self) -> int:
        return len(self.t)

    @property
    def duration_s(self) -> float:
        """Time between the first and last sample."""
        return float(self.t[-1] - self.t[0]) if len(self.t) > 1 else 0.0

    def metric_path(self) -> tuple[NDArray[np.float64], bool]:
        """Path for distances: ``(road_xy, True)`` in metres if calibrated, else ``(image_xy, False)``."""
        if self.road_xy is not None:
            return self.road_xy, True
        return self.image_xy, False


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule firing on one track.

    Attributes:
        kind: which rule.
        track_id: the track's id.
        vehicle_class: the track's class.
        t: time of the deciding moment (crossing, first sample over the limit, ...), seconds.
        index: sample index of the deciding moment in the track.
        lane_id: lane where it happened ("" when outside every lane).
        line_id: line involved (stop/solid) or "".
        speed_kmh: speed when relevant.
        speed_sigma_kmh: its one-sigma uncertainty.
        signal_state: signal at ``t`` for signal rules.
        signal_source: where that state came from.
        details: rule-specific measurements (numbers and short strings) for the evidence.
    """

    kind: ViolationKind
    track_id: int
    vehicle_class: str
    t: float
    index: int
    lane_id: str = ""
    line_id: str = ""
    speed_kmh: float | None = None
    speed_sigma_kmh: float | None = None
    signal_state: SignalState | None = None
    signal_source: SignalSource | None = None
    details: Mapping[str, float | str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    @classmethod
    def of_track(
        cls,
        kind: ViolationKind,
        track: TrackView,
        index: int,
        t: float | None = None,
        **fields: Any,
    ) -> Violation:
        """A violation that carries the track's id, class and measured speed; ``t`` defaults to sample ``index``."""
        return cls(
            kind=kind,
            track_id=track.track_id,
            vehicle_class=track.vehicle_class,
            t=float(track.t[index]) if t is None else t,
            index=index,
            speed_kmh=track.speed_kmh,
            speed_sigma_kmh=track.speed_sigma_kmh,
            **fields,
        )


class SpeedingConfig(StrictModel):
    """Speeding: the speed minus its uncertainty must exceed the lane limit plus tolerance."""

    sigma_factor: float = Field(default=2.0, ge=0.0, le=5.0, description="Sigmas subtracted from the speed")
    max_sigma_kmh: float = Field(default=15.0, gt=0.0, le=100.0, description="Skip estimates less certain than this")


class CrossingConfig(StrictModel):
    """When a point has crossed a line despite box jitter: clear of it on both sides, for several samples."""

    margin_px: float = Field(default=3.0, ge=0.0, le=200.0, description="Distance from the line on each side, px")
    margin_m: float = Field(default=0.3, ge=0.0, le=20.0, description="The same in road metres (calibrated)")
    min_samples: int = Field(default=3, ge=1, le=100, description="Samples needed on each side beyond the margin")
    smooth_samples: int = Field(default=5, ge=1, le=31, description="Running-median window over the distances")


class RedLightConfig(StrictModel):
    """Red light: the front crosses a junction-entry line while red, after the clearance grace."""

    red_grace_s: float = Field(
        default=0.5,
        ge=0.0,
        le=10.0,
        description="Red must have been on this long at the crossing (amber clearance)",
    )
    crossing: CrossingConfig = Field(default_factory=CrossingConfig, description="Crossing of the entry line")
    fallback_depth_px: float = Field(
        default=20.0,
        ge=0.0,
        le=2000.0,
        description="No junction-entry line: the front must get this far past the stop line, px",
    )
    fallback_depth_m: float = Field(default=2.5, ge=0.0, le=100.0, description="The same in road metres (calibrated)")


class StopLineConfig(StrictModel):
    """Stop line: halted with the front past the stop line while red, not entering the junction on that red."""

    min_stopped_s: float = Field(default=1.0, gt=0.0, le=60.0, description="Minimum stationary time past the line")
    stopped_speed_mps: float = Field(default=0.7, gt=0.0, le=5.0, description="Below this (calibrated) = stopped")
    stopped_speed_px_s: float = Field(default=8.0, gt=0.0, le=200.0, description="Below this (image px/s) = stopped")
    min_past_px: float = Field(default=4.0, ge=0.0, le=200.0, description="How far past the line counts as past")
    min_past_m: float = Field(
        default=0.6, ge=0.0, le=20.0, description="The same in road metres (calibrated; 0.3-1.0 m is borderline)"
    )
    max_past_px: float = Field(
        default=150.0, gt=0.0, le=2000.0, description="No junction-entry line: further past is inside the junction"
    )


class SolidLineConfig(StrictModel):
    """Solid line: the vehicle's centre moves clearly from one side of a solid marking to the other."""

    min_margin_px: float = Field(
        default=6.0, ge=0.0, le=200.0, description="Distance from the line on both sides (rejects jitter)"
    )
    min_margin_m: float = Field(
        default=0.5, ge=0.0, le=20.0, description="The same in road metres: a wheel on the line is not a crossing"
    )
    min_samples: int = Field(default=3, ge=1, le=100, description="Samples needed on each side beyond the margin")
    smooth_samples: int = Field(default=5, ge=1, le=31, description="Running-median window over the distances")


class WrongWayConfig(StrictModel):
    """Wrong way: net motion against the lane direction over a minimum distance."""

    min_distance_m: float = Field(default=15.0, gt=0.0, le=500.0, description="Against-direction travel (calibrated)")
    min_distance_px: float = Field(default=60.0, gt=0.0, le=5000.0, description="Against-direction travel (px)")
    max_cosine: float = Field(
        default=-0.5,
        ge=-1.0,
        le=0.0,
        description="Cosine between motion and lane direction must be below this",
    )


class BusLaneConfig(StrictModel):
    """Bus lane: a non-bus vehicle with its centre in a bus lane during its hours over a minimum distance."""

    exempt_classes: tuple[str, ...] = Field(default=("bus",), max_length=8, description="Classes allowed in it")
    min_time_s: float = Field(default=1.0, gt=0.0, le=600.0, description="Minimum time in the lane")
    min_distance_m: float = Field(default=20.0, ge=0.0, le=1000.0, description="Minimum travel in it (calibrated)")
    min_distance_px: float = Field(default=60.0, ge=0.0, le=5000.0, description="Minimum travel in it (px)")
    smooth_samples: int = Field(default=5, ge=1, le=31, description="Running-median window over lane membership")


class RepeatConfig(StrictModel):
    """When a new track continues an earlier offending one (the same vehicle after a broken track,
    ``edge.traffic.rules.repeat``)."""

    enabled: bool = Field(default=True, description="Drop a continued track's repeat of an already issued kind")
    window_s: float = Field(
        default=3.0, ge=0.0, le=30.0, description="Longest gap between the two tracks' samples (seconds)"
    )
    radius_m: float = Field(
        default=4.0, ge=0.0, le=50.0, description="Reach around the predicted position on the road plane (metres)"
    )
    radius_boxes: float = Field(
        default=1.0, ge=0.0, le=10.0, description="Uncalibrated: reach around the prediction, in box heights"
    )
    travel_share: float = Field(
        default=0.3, ge=0.0, le=2.0, description="Reach grows by this share of the travel predicted over the gap"
    )
    velocity_s: float = Field(
        default=0.5, ge=0.05, le=5.0, description="Velocity from the track's last this many seconds of samples"
    )


class RulesConfig(StrictModel):
    """Every rule's thresholds, plus which rules are on."""

    enabled: tuple[ViolationKind, ...] = Field(
        default=tuple(ViolationKind),
        max_length=len(ViolationKind),
        description="Rules to evaluate (default: every kind of the contract)",
    )
    min_samples: int = Field(default=5, ge=2, le=1000, description="A track needs this many samples (never 1 frame)")
    speeding: SpeedingConfig = Field(default_factory=SpeedingConfig, description="Speeding thresholds")
    red_light: RedLightConfig = Field(default_factory=RedLightConfig, description="Red-light thresholds")
    stop_line: StopLineConfig = Field(default_factory=StopLineConfig, description="Stop-line thresholds")
    solid_line: SolidLineConfig = Field(default_factory=SolidLineConfig, description="Solid-line thresholds")
    wrong_way: WrongWayConfig = Field(default_factory=WrongWayConfig, description="Wrong-way thresholds")
    bus_lane: BusLaneConfig = Field(default_factory=BusLaneConfig, description="Bus-lane thresholds")
    repeat: RepeatConfig = Field(
        default_factory=RepeatConfig, description="One offence, one fine: a broken track's second half is not re-booked"
    )


Signals = SignalTimeline | Mapping[str, SignalTimeline] | None
"""What the rules get for the signal: one timeline for the camera, one per signal head (by id), or none."""


def timeline_for(signal: Signals, line: Line) -> SignalTimeline | None:
    """The timeline governing a line: its named head (None when that head has no timeline), the camera's only
    timeline, or None. A line that names no head under several heads gets None (no guessing which)."""
    if signal is None or isinstance(signal, SignalTimeline):
        return signal
    if line.signal is not None:
        return signal.get(line.signal)
    return next(iter(signal.values())) if len(signal) == 1 else None


def choose_signal(controller: SignalPhaseFeed | None, camera: SignalPhaseFeed | None) -> SignalTimeline | None:
    """The controller feed when present, the camera classifier otherwise (None when neither exists)."""
    if controller is not None:
        return controller.timeline()
    if camera is not None:
        return camera.timeline()
    return None


def eligible(track: TrackView, config: RulesConfig) -> bool:
    """Only confirmed tracks with enough samples can produce a violation."""
    return track.confirmed and len(track) >= config.min_samples


def track_lanes(track: TrackView, scene: SceneConfig) -> NDArray[np.int64]:
    """(T,) index into ``scene.lanes`` per sample (-1 = none), from ``track.lane_ids`` or the lane polygons."""
    if track.lane_ids is None:
        return lane_index(track.image_xy, scene)
    index = {lane.id: k for k, lane in enumerate(scene.lanes)}
    return np.array([index.get(lane_id, -1) for lane_id in track.lane_ids], dtype=np.int64)


def runs(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Maximal runs of True as ``(start, stop)`` index pairs (stop exclusive), in order."""
    padded = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def sample_speeds(track: TrackView) -> tuple[NDArray[np.float64], bool]:
    """(T,) speed at each sample (units/s of ``metric_path``; the step to the next sample, the last repeats).

    Returns:
        ``(speed, calibrated)``: metres per second when calibrated, image pixels per second otherwise.
    """
    path, calibrated = track.metric_path()
    if len(path) < 2:
        return np.zeros(len(path), dtype=np.float64), calibrated
    step = np.linalg.norm(np.diff(path, axis=0), axis=1) / np.diff(track.t)
    return np.concatenate([step, step[-1:]]), calibrated


def dominant_lane(lanes: NDArray[np.int64]) -> int:
    """The lane index most samples are in (-1 when none)."""
    inside = lanes[lanes >= 0]
    return int(np.bincount(inside).argmax()) if len(inside) else -1
