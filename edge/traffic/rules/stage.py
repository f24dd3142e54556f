"""The violation stage of a traffic camera: signal source, frame buffer, rules, evidence and spool in one place.

Wiring (per camera): call ``on_frame(frame, t, index)`` for every decoded frame (it keeps a short JPEG ring buffer
for the evidence and feeds the camera signal source when there is no controller log), and ``on_track(view)`` with
each finished confirmed ``TrackView``; it evaluates the rules, writes one signed package per violation and puts
its ``ViolationEvent`` with every evidence file into the spool.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import Field, ValidationInfo, field_validator

from edge.spool import Spool
from edge.traffic.evidence import (
    EvidenceConfig,
    EvidenceContext,
    PlateEvidence,
    PlateGetter,
    package_violations,
    pick_frames,
)
from edge.traffic.evidence_verify import violation_event
from edge.traffic.rules import evaluate_rules
from edge.traffic.rules.base import RulesConfig, SignalTimeline, TrackView, Violation, choose_signal
from edge.traffic.scene import SceneConfig
from hardware.signal import (
    CameraSignalConfig,
    CameraSignalSource,
    PhaseChange,
    ReplaySignalFeed,
    SignalHeadClassifier,
)
from kuzet.config import StrictModel

logger = logging.getLogger(__name__)


def _against_config(value: Path, info: ValidationInfo) -> Path:
    """A relative path resolved against the config file's folder (validation context ``base_dir``), if known."""
    base = (info.context or {}).get("base_dir")
    return value if value.is_absolute() or base is None else Path(base) / value


class SignalConfig(StrictModel):
    """Where the signal state comes from."""

    controller_log: Path | None = Field(
        default=None, description="Controller phase log (CSV t,state) replayed as the feed; None = camera classifier"
    )
    log_times: Literal["unix", "stream"] = Field(
        default="unix",
        description="Controller log times: Unix seconds, or seconds from the stream's first frame (a replayed clip)",
    )
    min_consecutive: int = Field(default=3, ge=1, le=100, description="Frames agreeing before a camera phase change")

    @field_validator("controller_log")
    @classmethod
    def _resolve_log(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _against_config(value, info)


class ViolationsConfig(StrictModel):
    """The violations section of a traffic device file."""

    rules: RulesConfig = Field(default_factory=RulesConfig, description="Rule thresholds")
    evidence: EvidenceConfig = Field(description="Where packages and keys live")
    signal: SignalConfig = Field(default_factory=SignalConfig, description="Signal source")
    buffer_s: float = Field(default=15.0, gt=0.0, le=120.0, description="Seconds of frames kept for evidence")
    buffer_jpeg_quality: int = Field(default=95, ge=50, le=100, description="JPEG quality of buffered frames")

    @field_validator("evidence")
    @classmethod
    def _resolve_evidence(cls, value: EvidenceConfig, info: ValidationInfo) -> EvidenceConfig:
        """Relative evidence and key folders resolve against the config file's folder, as the spool does."""
        chain_dir, key_dir = _against_config(value.chain_dir, info), _against_config(value.key_dir, info)
        return value.model_copy(update={"chain_dir": chain_dir, "key_dir": key_dir})


def decode_jpeg(data: bytes) -> NDArray[np.uint8]:
    """(H, W, 3) BGR frame of JPEG bytes."""
    return np.asarray(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), dtype=np.uint8)


@dataclass(frozen=True, slots=True)
class PendingViolations:
    """Violations of one finished track with a snapshot of their evidence frames (JPEG bytes by frame index),
    ready to be packaged later, e.g. off the frame loop once the plate is read."""

    view: TrackView
    violations: tuple[Violation, ...]
    frames: Mapping[int, bytes]


class FrameBuffer:
    """The last frames as JPEG bytes by source index (bounded by age in seconds)."""

    def __init__(self, seconds: float, quality: int) -> None:
        self.seconds = seconds
        self.quality = quality
        self._frames: OrderedDict[int, tuple[float, bytes]] = OrderedDict()

    def put(self, index: int, t: float, frame: NDArray[np.uint8]) -> None:
        """Store one frame and drop the ones older than ``seconds`` before ``t``."""
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise ValueError(f"could not encode frame {index}")
        self._frames[index] = (t, bytes(buf.tobytes()))
        while self._frames and next(iter(self._frames.values()))[0] < t - self.seconds:
            self._frames.popitem(last=False)

    def get(self, index: int) -> NDArray[np.uint8] | None:
        """The decoded frame, or None when it already left the buffer."""
        item = self._frames.get(index)
        return None if item is None else decode_jpeg(item[1])

    def jpeg(self, index: int) -> bytes | None:
        """The buffered JPEG bytes of a frame, or None."""
        item = self._frames.get(index)
        return None if item is None else item[1]

    def has(self, index: int) -> bool:
        """Whether the frame is still buffered."""
        return index in self._frames

    def __len__(self) -> int:
        return len(self._frames)


class ViolationStage:
    """Rules + evidence + spool for one camera.

    Args:
        scene: the camera's geometry (its ``signal_roi`` enables the camera signal source).
        config: the violations section.
        context: camera id, clock, calibration version, model files for the evidence.
        spool: where ``ViolationEvent``s go (None: packages only).
        classifier: the signal-head classifier of the camera signal source, e.g. the trained
            ``models.lights.LightClassifier`` (None: no camera source).
        plate_for: the plate crop and read of a violation's vehicle (None: packages without a plate), used
            when ``on_track`` is given no plate.
        stream_start: Unix time of the stream's first frame (controller logs with ``log_times: stream``).
    """

    def __init__(
        self,
        scene: SceneConfig,
        config: ViolationsConfig,
        context: EvidenceContext,
        spool: Spool | None = None,
        classifier: SignalHeadClassifier | None = None,
        plate_for: PlateGetter | None = None,
        stream_start: float = 0.0,
    ) -> None:
        self.scene, self.config, self.context, self.spool = scene, config, context, spool
        self.plate_for = plate_for
        log = config.signal.controller_log
        self.controller = ReplaySignalFeed.from_csv(log) if log is not None else None
        if self.controller is not None and config.signal.log_times == "stream":
            changes = self.controller.timeline().changes
            self.controller = ReplaySignalFeed([PhaseChange(c.t + stream_start, c.state) for c in changes])
        self.camera: CameraSignalSource | None = None
        if self.controller is None and classifier is not None and scene.signal_roi is not None:
            camera_config = CameraSignalConfig(roi=scene.signal_roi, min_consecutive=config.signal.min_consecutive)
            self.camera = CameraSignalSource(classifier, camera_config)
        self.frames = FrameBuffer(config.buffer_s, config.buffer_jpeg_quality)
        self.violations: list[Violation] = []
        self.missing_evidence = 0

    def signal(self) -> SignalTimeline | None:
        """The controller timeline when configured, else the camera's, else None."""
        return choose_signal(self.controller, self.camera)

    def on_frame(self, frame: NDArray[np.uint8], t: float, index: int) -> None:
        """Buffer one frame and read the signal head from it when the camera is the signal source."""
        self.frames.put(index, t, frame)
        if self.camera is not None:
            self.camera.observe(frame, t)

    def _at_frame_buffered(self, violation: Violation, view: TrackView, context_s: float) -> bool:
        return any(role == "at" and self.frames.has(i) for role, i, _ in pick_frames(violation, view, context_s))

    def on_track(self, view: TrackView, plate: PlateEvidence | None = None) -> list[Path]:
        """Evaluate one finished track; returns the packages written (each also spooled).

        Args:
            view: the finished confirmed track.
            plate: the track's plate crop and read (e.g. from ``edge.traffic.plates_stage``); None falls back to
                ``plate_for``.
        """
        pending = self.prepare(view)
        return self.package(pending, plate) if pending is not None else []

    def prepare(self, view: TrackView) -> PendingViolations | None:
        """Rules on one finished track and a snapshot of its evidence frames (cheap: call it on the frame loop,
        while the frames are still buffered); None when nothing fired."""
        found = evaluate_rules([view], self.scene, self.signal(), self.config.rules)
        context_s = self.config.evidence.context_s
        kept = [v for v in found if self._at_frame_buffered(v, view, context_s)]
        if len(kept) < len(found):
            self.missing_evidence += len(found) - len(kept)
            logger.error(
                "track %d: %d violation(s) dropped, their frames left the %.0f s buffer (raise buffer_s)",
                view.track_id,
                len(found) - len(kept),
                self.config.buffer_s,
            )
        if not kept:
            return None
        wanted = {index for v in kept for _, index, _ in pick_frames(v, view, context_s)}
        frames = {index: data for index in wanted if (data := self.frames.jpeg(index)) is not None}
        return PendingViolations(view, tuple(kept), frames)

    def package(self, pending: PendingViolations, plate: PlateEvidence | None = None) -> list[Path]:
        """Write and spool one signed package per prepared violation (``plate`` or ``plate_for`` adds the plate).

        Packages of one camera must be written by one thread at a time (the chain is sequential).
        """

        def frame_at(index: int) -> NDArray[np.uint8] | None:
            data = pending.frames.get(index)
            return None if data is None else decode_jpeg(data)

        view = pending.view
        packages = package_violations(
            pending.violations,
            {view.track_id: view},
            self.scene,
            frame_at,
            self.context,
            self.config.evidence,
            (lambda _v, _t: plate) if plate is not None else self.plate_for,
        )
        for package in packages:
            if self.spool is not None:
                event, media = violation_event(package)
                self.spool.put(event, media)
        self.violations.extend(pending.violations)
        logger.info("track %d: %s", view.track_id, [v.kind for v in pending.violations])
        return packages
