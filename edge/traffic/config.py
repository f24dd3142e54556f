"""Configuration of a traffic camera device: detector, tracker, calibration, speed, scene and frame plan."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from edge.config import DeviceConfig
from edge.tracking.bytetrack import TrackerConfig
from edge.traffic.calibration import CalibrationConfig
from edge.traffic.plates_stage import TrafficPlatesConfig
from edge.traffic.rules.stage import ViolationsConfig
from edge.traffic.scene import SceneConfig
from edge.traffic.signals import SignalsConfig
from edge.traffic.speed import SpeedConfig
from kuzet.config import StrictModel
from models.runtime import RunnerConfig
from models.vehicles.detector import VehicleDetectorConfig


class FramePlanConfig(StrictModel):
    """Which frames get the detector; the tracker's Kalman prediction carries the others.

    ``realtime`` runs the detector whenever the pipeline is not behind the camera clock (so on 2 cores it keeps
    up with a 25 fps camera and detects as often as it can); ``stride`` detects every ``stride``-th frame;
    ``every`` detects every frame whatever it costs (offline analysis, benchmarks).
    """

    mode: Literal["realtime", "stride", "every"] = Field(default="realtime", description="Frame plan")
    stride: int = Field(default=2, ge=1, le=25, description="Detector every Nth frame (mode stride)")
    camera_fps: float | None = Field(
        default=None, gt=0.0, le=120.0, description="Camera frame rate; None = the source's own rate"
    )
    slack_frames: float = Field(
        default=1.0, ge=0.0, le=25.0, description="How many frames behind the camera still runs the detector"
    )
    decode_queue: int = Field(default=8, ge=1, le=256, description="Frames decoded ahead in the reader thread")


class TrafficConfig(StrictModel):
    """The traffic section of a device file."""

    source: str = Field(
        default="", max_length=500, description="Video file or camera URL; a relative file resolves to the config"
    )
    detector: VehicleDetectorConfig = Field(default_factory=VehicleDetectorConfig, description="Vehicle detector")
    runner: RunnerConfig = Field(default_factory=RunnerConfig, description="onnxruntime threads for the detector")
    tracker: TrackerConfig = Field(default_factory=TrackerConfig, description="ByteTrack thresholds")
    calibration: CalibrationConfig | None = Field(default=None, description="Image -> road homography survey")
    speed: SpeedConfig = Field(default_factory=SpeedConfig, description="Speed estimation")
    scene: SceneConfig | None = Field(default=None, description="Lanes, stop/solid/counting lines")
    frame_plan: FramePlanConfig = Field(default_factory=FramePlanConfig, description="Detector scheduling")
    min_track_samples: int = Field(
        default=5, ge=1, le=1000, description="Confirmed tracks with fewer measured samples emit no event"
    )
    counting_margin_px: float = Field(
        default=4.0, ge=0.0, le=100.0, description="Dead band either side of a counting line (jitter is not a crossing)"
    )
    max_path_points: int = Field(default=200, ge=2, le=2000, description="Road path points kept in an event")
    plates: TrafficPlatesConfig | None = Field(
        default=None, description="Per-track plate reading (and watchlist); None = no plates"
    )
    track_worker: bool = Field(
        default=True,
        description="Read plates and write evidence on one worker thread, off the frame loop (False = inline)",
    )
    violations: ViolationsConfig | None = Field(
        default=None, description="Rules, signal source and evidence packages; None = vehicle events only"
    )
    signals: SignalsConfig | None = Field(
        default=None,
        description="Per-movement signal heads (camera ROIs), NTCIP controller and their fusion; overrides the"
        " violations section's single signal source",
    )


class TrafficDeviceConfig(DeviceConfig):
    """A traffic camera device file."""

    traffic: TrafficConfig = Field(description="Traffic pipeline")


def resolve_source(source: str, base_dir: Path) -> str:
    """A relative file source resolved against the config folder; URLs and absolute paths unchanged."""
    if not source or "://" in source or Path(source).is_absolute():
        return source
    return str(base_dir / source)


def _resolve(path: Path, base_dir: Path) -> Path:
    return path if path.is_absolute() else base_dir / path


def resolve_paths(config: TrafficConfig, base_dir: Path) -> TrafficConfig:
    """A copy with every relative file of the section (source, controller log, watchlist, evidence and key
    folders) resolved against the config file's folder."""
    update: dict[str, object] = {"source": resolve_source(config.source, base_dir)}
    if config.violations is not None:
        v = config.violations
        evidence = v.evidence.model_copy(
            update={
                "chain_dir": _resolve(v.evidence.chain_dir, base_dir),
                "key_dir": _resolve(v.evidence.key_dir, base_dir),
            }
        )
        log = v.signal.controller_log
        signal = v.signal.model_copy(update={"controller_log": None if log is None else _resolve(log, base_dir)})
        update["violations"] = v.model_copy(update={"evidence": evidence, "signal": signal})
    if config.plates is not None and config.plates.watchlist is not None and config.plates.watchlist.path is not None:
        watchlist = config.plates.watchlist.model_copy(
            update={"path": _resolve(config.plates.watchlist.path, base_dir)}
        )
        update["plates"] = config.plates.model_copy(update={"watchlist": watchlist})
    return config.model_copy(update=update)


__all__ = [
    "FramePlanConfig",
    "TrafficConfig",
    "TrafficDeviceConfig",
    "resolve_paths",
    "resolve_source",
]
