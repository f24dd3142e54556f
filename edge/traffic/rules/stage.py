"""The violation stage of a traffic camera: signal source, frame buffer, rules, evidence and spool in one place.

Wiring (per camera): call ``on_frame(frame, t, index)`` for every decoded frame (it keeps a short JPEG ring buffer
for the evidence and feeds the camera signal source when there is no controller log), and ``on_track(view)`` with
each finished confirmed ``TrackView``; it evaluates the rules, writes one signed package per violation and puts
its ``ViolationEvent`` with every evidence file into the spool.

With a ``signals`` section (``edge.traffic.signals.SignalFusion``) every stop and junction-entry line is judged on
its own fused head (``SignalFusion.head_for``: the line's ``signal``, the section's ``stop_lines``, else the primary
head), so a left arrow's red and a disagreement on one head touch only the lines that head governs.

Camera health gates the rules (``health_policy``, one pure table): while the tamper monitor says the view moved,
is covered, defocused, frozen or offline, the calibration and the scene's lines no longer describe the road, so no
violation is issued (each withheld one is logged with the reason) and vehicle speeds are withheld, until the camera
is healthy again (re-calibration = a new baseline). ``HealthGate`` keeps the monitor's changes as a timeline: a
track is judged by every state active while it was measured and by the state when it ends, and each package
records the camera's health at its offence.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import Field, ValidationInfo, field_validator

from edge.camera.monitor import HealthChange
from edge.spool import Spool
from edge.traffic.evidence import EvidenceConfig, EvidenceContext, HealthRecord, PlateEvidence
from edge.traffic.evidence_package import PlateGetter, evidence_indices, package_violations, pick_frames
from edge.traffic.evidence_verify import violation_event
from edge.traffic.rules import evaluate_rules
from edge.traffic.rules.base import RulesConfig, Signals, SignalTimeline, TrackView, Violation, choose_signal
from edge.traffic.rules.repeat import OffenceMemory
from edge.traffic.scene import SceneConfig
from edge.traffic.signals import SignalFusion, govern_lines, head_timelines
from hardware.signal import (
    CameraSignalConfig,
    CameraSignalSource,
    PhaseChange,
    ReplaySignalFeed,
    SignalHeadClassifier,
    SignalPhaseFeed,
)
from kuzet.config import StrictModel
from kuzet.contracts import SEVERITY, CameraHealthMeasures, CameraHealthState, ViolationKind

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


UNTRUSTED_VIEW = frozenset(
    {
        CameraHealthState.OFFLINE,
        CameraHealthState.COVERED,
        CameraHealthState.FROZEN,
        CameraHealthState.DEFOCUSED,
        CameraHealthState.MOVED,
    }
)
"""States in which the frames no longer match the calibration and scene (every rule depends on that geometry)."""


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    """What a camera may issue in a health state: the violation kinds, whether speeds, and why not."""

    violations: frozenset[ViolationKind]
    speeds: bool
    reason: str = ""


def health_policy(active: Iterable[CameraHealthState]) -> HealthPolicy:
    """The violations and speeds a camera with these active states may issue (pure; the table test pins it).

    Every rule (speeding, red light, stop line, solid line, wrong way, bus lane) reads the track through the
    calibration or the scene's image lines, so a view that moved or cannot be seen issues none and no speed.
    Clock drift and thermal faults leave the geometry alone (the package records them).
    """
    untrusted = [s for s in SEVERITY if s in set(active) and s in UNTRUSTED_VIEW]
    if not untrusted:
        return HealthPolicy(frozenset(ViolationKind), True)
    names = ", ".join(s.value for s in untrusted)
    return HealthPolicy(frozenset(), False, f"camera {names}: the calibration no longer holds")


@dataclass(slots=True)
class HealthGate:
    """The tamper monitor's changes of one camera as a timeline, for ``health_policy`` over a track's time span.

    Call ``record`` with every ``HealthChange``; ``measures`` (e.g. the reporter's) gives the monitor's latest
    figures for the evidence. Without changes the camera is healthy.
    """

    measures: Callable[[], CameraHealthMeasures] | None = None
    changes: list[tuple[float, tuple[CameraHealthState, ...]]] = field(default_factory=list)

    def record(self, change: HealthChange) -> None:
        """A debounced change; its states hold from ``since`` (when the tampering began or ended)."""
        self.changes.append((change.since.timestamp(), tuple(change.active)))
        self.changes.sort(key=lambda c: c[0])

    def active(self, t: float | None = None) -> tuple[CameraHealthState, ...]:
        """The states active at time ``t`` (Unix seconds; None: now, the latest change)."""
        current: tuple[CameraHealthState, ...] = ()
        for since, active in self.changes:
            if t is not None and since > t:
                break
            current = active
        return current

    def policy(self, t0: float, t1: float) -> HealthPolicy:
        """The policy for a track measured from ``t0`` to ``t1`` and judged now: every state active in that span
        or now counts."""
        states = set(self.active(t0)) | set(self.active())
        states.update(s for since, active in self.changes if t0 < since <= t1 for s in active)
        return health_policy(states)

    def at(self, t: float) -> HealthRecord:
        """The camera's health at an offence at time ``t``, with the monitor's latest measures."""
        active = self.active(t)
        measures = self.measures() if self.measures is not None else CameraHealthMeasures()
        return HealthRecord(active[0] if active else CameraHealthState.HEALTHY, active, measures)


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
    health: tuple[HealthRecord | None, ...] = ()


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
        health: the camera's health timeline (None: no monitor, the packages record no health).
        fusion: the ``signals`` section's heads (camera and controller fused; unknown where they disagree), used
            instead of the section's controller log or camera ROI: each stop / junction-entry line gets its own
            head's timeline.

    Raises:
        ValueError: with ``fusion``, a line names a head the section has no feed for (``SignalFusion.head_for``).
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
        health: HealthGate | None = None,
        fusion: SignalFusion | None = None,
    ) -> None:
        self.scene, self.config, self.context, self.spool = scene, config, context, spool
        self.health = health
        self.withheld = 0  # violations not issued because the camera's view could not be trusted
        self.plate_for = plate_for
        log = config.signal.controller_log
        self.controller: SignalPhaseFeed | None = ReplaySignalFeed.from_csv(log) if log is not None else None
        if self.controller is not None and config.signal.log_times == "stream":
            changes = self.controller.timeline().changes
            self.controller = ReplaySignalFeed([PhaseChange(c.t + stream_start, c.state) for c in changes])
        self.fusion = fusion
        self.rules_scene = govern_lines(scene, fusion.head_for) if fusion is not None else scene
        if fusion is not None:
            self.controller = fusion.feed()
        self.camera: CameraSignalSource | None = None
        if self.controller is None and classifier is not None and scene.signal_roi is not None:
            camera_config = CameraSignalConfig(roi=scene.signal_roi, min_consecutive=config.signal.min_consecutive)
            self.camera = CameraSignalSource(classifier, camera_config)
        self.frames = FrameBuffer(config.buffer_s, config.buffer_jpeg_quality)
        self.violations: list[Violation] = []
        self.missing_evidence = 0
        self.repeats = OffenceMemory(config.rules.repeat)  # a broken track's second half is not booked again

    def signal(self) -> SignalTimeline | None:
        """The controller timeline when configured (with a ``signals`` section: the primary head), else the
        camera's, else None."""
        return choose_signal(self.controller, self.camera)

    def signals(self) -> Signals:
        """What the rules judge ``rules_scene`` on: one fused timeline per head its lines name (``signals``
        section), else the one timeline of ``signal``."""
        if self.fusion is None:
            return self.signal()
        return head_timelines(self.rules_scene, self.fusion.timeline_or_none)

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
        found = self._allowed(view, evaluate_rules([view], self.rules_scene, self.signals(), self.config.rules))
        found = self.repeats.filter(view, found)
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
        wanted = {index for v in kept for index in evidence_indices(v, view, self.config.evidence)}
        frames = {index: data for index in wanted if (data := self.frames.jpeg(index)) is not None}
        health = tuple(self.health.at(v.t) if self.health is not None else None for v in kept)
        return PendingViolations(view, tuple(kept), frames, health)

    def _allowed(self, view: TrackView, found: list[Violation]) -> list[Violation]:
        """The violations the camera's health lets it issue; the others are counted and logged with the reason."""
        if self.health is None or not found or len(view.t) == 0:
            return found
        policy = self.health.policy(float(view.t[0]), float(view.t[-1]))
        allowed = [v for v in found if v.kind in policy.violations]
        if len(allowed) < len(found):
            self.withheld += len(found) - len(allowed)
            withheld = [v.kind for v in found if v.kind not in policy.violations]
            logger.warning("track %d: %s not issued: %s", view.track_id, withheld, policy.reason)
        return allowed

    def package(self, pending: PendingViolations, plate: PlateEvidence | None = None) -> list[Path]:
        """Write and spool one signed package per prepared violation (``plate`` or ``plate_for`` adds the plate).

        Packages of one camera must be written by one thread at a time (the chain is sequential).
        """

        def frame_at(index: int) -> NDArray[np.uint8] | None:
            data = pending.frames.get(index)
            return None if data is None else decode_jpeg(data)

        view = pending.view
        records = {id(v): h for v, h in zip(pending.violations, pending.health, strict=False)}
        packages = package_violations(
            pending.violations,
            {view.track_id: view},
            self.scene,
            frame_at,
            self.context,
            self.config.evidence,
            (lambda _v, _t: plate) if plate is not None else self.plate_for,
            lambda v: records.get(id(v)),
        )
        for package in packages:
            if self.spool is not None:
                event, media = violation_event(package)
                self.spool.put(event, media)
        self.violations.extend(pending.violations)
        logger.info("track %d: %s", view.track_id, [v.kind for v in pending.violations])
        return packages
