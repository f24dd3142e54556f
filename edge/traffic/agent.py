"""The traffic agent: read frames (in a decoder thread), apply the frame plan, run the pipeline, spool events.

Frames come from ``hardware.camera``: a video file, or a live camera that is reconnected after a drop (its
drops and reconnects counted in the source's status); each frame is stamped with the capture time its source
reports, and that time is the sample time of the tracks, speeds and violations.

One pass does everything a traffic camera reports (``TrafficAgent``): per frame the violation stage buffers the
frame (and reads the signal head when the camera is the signal source) and the plate stage keeps each measured
track's best vehicle crops; per finished track the plate stage reads and votes the plate, the ``VehicleEvent``
(with ``plate_text``) goes into the spool, a watchlist hit raises a ``PlateAlertEvent``, and the violation stage
evaluates the rules and writes a signed, chained evidence package (with the plate crop the read came from) per
violation, spooling its ``ViolationEvent``.

Camera health: every frame and every change of the source's state also go to the camera's tamper monitor
(``edge.camera.events.HealthReporter``, which spools a ``CameraHealthEvent`` per change); while it judges the view
moved, covered, defocused, frozen or offline the camera issues no violation and no speed (vehicles are still
counted), and each evidence package records the camera's health at its offence (``edge.traffic.rules.stage``).
With a ``signals`` section each stop / junction-entry line is judged on its own fused signal head, and a head whose
camera reading and controller feed disagree is shipped as the ``signal_mismatch`` health state.

The frame loop and its frame plan are ``edge.traffic.stream``'s.

With plates and violations in the same pass (``samples/traffic/ozlu.yaml``, platedet, 3 crops a track), reading
a track's plate takes ~0.3-0.9 s; done on the frame loop it stalled the detector (realtime: 659 of 905 detector
frames, 6 of 8 vehicles counted), so it runs on one worker thread (``track_worker``): 742 of 905 detector frames,
8 of 8 counted, 24.0 fps, 38.9 s wall time for the 37.7 s clip including 8.5 s of plate reading on the worker.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.camera.config import CameraHealthConfig
from edge.camera.events import HealthReporter
from edge.camera.source_health import SourceHealth
from edge.spool import Spool, make_attachment
from edge.traffic.config import TrafficConfig
from edge.traffic.evidence import EvidenceContext
from edge.traffic.evidence_package import clock_status
from edge.traffic.pipeline import TrackSummary, TrafficPipeline, vehicle_event
from edge.traffic.plates_stage import PlateStage, TrackCrops, TrackPlateResult
from edge.traffic.rules.stage import HealthGate, PendingViolations, ViolationStage
from edge.traffic.signals import SignalRuntime
from edge.traffic.stream import RunStats, build_pipeline, read_frames, run_stream
from edge.traffic.watchlist import Watchlist
from edge.uplink import EVIDENCE_CHAIN
from hardware.camera import SourceStatus
from hardware.signals.ntcip import NtcipController
from kuzet.contracts import CameraHealthMeasures, CameraId, ClockSource
from models.detections import Detections
from models.runtime import package_file
from models.vehicles.detector import backend_of

logger = logging.getLogger(__name__)

HEALTH_KEY = "traffic.camera"  # the camera's source status in the spool (``edge.camera.source_health``)


class TrafficAgent:
    """The per-frame and per-track wiring of one camera: plates, vehicle events, watchlist, violations.

    The cheap part of a finished track (taking its crops, the rules, a snapshot of its evidence frames) runs on
    the frame loop; the slow part (plate detection and reading, evidence packages, spooling) runs on one worker
    thread when ``worker`` is True, so a plate read (~0.3 s a crop with platedet) never stalls the detector;
    one worker keeps the evidence chain sequential and the events in track order. Call ``close`` at the end.

    Args:
        pipeline: detector + tracker.
        spool: where every event goes.
        camera_id: camera id of the events.
        clock_source: clock of the capture times.
        plates: per-track plate reading, or None.
        violations: rules + evidence, or None.
        watchlist: listed plates, or None.
        worker: finish tracks on a worker thread (True) or inline.
        health: the camera's tamper monitor and spooler, or None (no monitor: always healthy).
        gate: the monitor's timeline the violation stage consults (default: a new one).
        signals: the signal heads and controller of the ``signals`` section (read per frame, closed at the end).
    """

    def __init__(
        self,
        pipeline: TrafficPipeline,
        spool: Spool,
        camera_id: CameraId,
        clock_source: ClockSource,
        plates: PlateStage | None = None,
        violations: ViolationStage | None = None,
        watchlist: Watchlist | None = None,
        worker: bool = False,
        health: HealthReporter | None = None,
        gate: HealthGate | None = None,
        signals: SignalRuntime | None = None,
    ) -> None:
        self.pipeline, self.spool, self.camera_id, self.clock_source = pipeline, spool, camera_id, clock_source
        self.signals = signals
        self.plates, self.violations, self.watchlist = plates, violations, watchlist
        self.health = health
        self.gate = gate or HealthGate()
        self.stats = RunStats()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="traffic-tracks") if worker else None
        self._pending: list[Future[None]] = []

    def on_frame(self, frame: NDArray[np.uint8], t: float, index: int, tracked: Detections) -> None:
        """Judge the camera's health, buffer the frame for evidence and keep the measured tracks' vehicle crops."""
        if self.health is not None:
            change = self.health.observe(frame, datetime.fromtimestamp(t, UTC))
            if change is not None:
                self.gate.record(change)
        if self.signals is not None:
            self.signals.observe(frame, t)
            if self.health is not None:  # a head's camera and controller disagreeing ships as signal_mismatch
                change = self.signals.report(self.health, t)
                if change is not None:
                    self.gate.record(change)
        if self.violations is not None:
            self.violations.on_frame(frame, t, index)
        measured = tracked.data.get("measured")
        if self.plates is not None and measured is not None and bool(np.any(measured)):
            self.plates.observe(frame, tracked, index)

    def on_status(self, status: SourceStatus) -> None:
        """The frame source's status, for the tamper monitor (offline while the stream is down)."""
        if self.health is not None:
            change = self.health.observe_source(status)
            if change is not None:
                self.gate.record(change)

    def on_track(self, summary: TrackSummary) -> None:
        """Take the track's crops and prepare its violations here (the camera's health decides which may be
        issued, and whether its speed); finish it inline or on the worker."""
        crops = self.plates.take(summary.view.track_id) if self.plates is not None else None
        pending = self.violations.prepare(summary.view) if self.violations is not None else None
        t = summary.view.t
        policy = self.gate.policy(float(t[0]), float(t[-1])) if len(t) else None
        speeds = policy is None or policy.speeds
        if not speeds and policy is not None and summary.speed.speed_kmh is not None:
            logger.info("track %d: speed withheld: %s", summary.view.track_id, policy.reason)
        if self._pool is None:
            self._finish(summary, crops, pending, speeds)
            return
        self._pending.append(self._pool.submit(self._finish, summary, crops, pending, speeds))
        while self._pending and self._pending[0].done():
            self._pending.pop(0).result()  # re-raises a worker's error on the frame loop

    def close(self) -> None:
        """Stop the signal controller's polling; wait for the worker to finish every track (re-raising its first
        error)."""
        if self.signals is not None:
            self.signals.close()
        if self._pool is None:
            return
        try:
            for future in self._pending:
                future.result()
        finally:
            self._pending = []
            self._pool.shutdown(wait=True)

    def _finish(
        self, summary: TrackSummary, crops: TrackCrops | None, pending: PendingViolations | None, speeds: bool = True
    ) -> None:
        """Read the plate, spool the vehicle event (and any watchlist alert), then package the violations."""
        plate = self._plate(crops)
        config = self.pipeline.config
        read = (plate.plate.text, plate.plate.confidence) if plate is not None else None
        event = vehicle_event(summary, self.camera_id, self.clock_source, config.max_path_points, read, speeds)
        if event is not None:
            self.spool.put(event)
        if plate is not None:
            self._alert(summary, plate)
        if self.violations is not None and pending is not None:
            packages = self.violations.package(pending, plate.evidence() if plate is not None else None)
            self.stats.violations += list(zip(pending.violations, packages, strict=True))

    def _plate(self, crops: TrackCrops | None) -> TrackPlateResult | None:
        if self.plates is None or crops is None:
            return None
        begin = time.perf_counter()
        result = self.plates.read(crops)
        self.stats.plate_seconds += time.perf_counter() - begin
        if not result.read or result.plate.confidence < self.plates.config.min_read_confidence:
            return None
        self.stats.plates[crops.track_id] = result
        return result

    def _alert(self, summary: TrackSummary, plate: TrackPlateResult) -> None:
        if self.watchlist is None:
            return
        ok, png = cv2.imencode(".png", plate.plate.crop)
        attachment = make_attachment(bytes(png.tobytes()), "image/png", "plate_crop") if ok else None
        alert = self.watchlist.check(
            plate.plate.text,
            plate.plate.confidence,
            self.camera_id,
            datetime.fromtimestamp(float(summary.view.t[-1]), tz=UTC),
            self.clock_source,
            summary.view.track_id,
            (attachment,) if attachment is not None else (),
        )
        if alert is not None:
            self.spool.put(alert, {attachment.sha256: bytes(png.tobytes())} if attachment is not None else None)
            self.stats.alerts += 1


def model_files(config: TrafficConfig) -> dict[str, Path]:
    """The model files whose hashes every evidence package records."""
    backend = backend_of(config.detector)
    files = {
        "vehicle_detector": Path(config.detector.model_path or package_file(backend.package, backend.relative_path))
    }
    if config.plates is not None:
        from models.plates.detector import CASCADE_FILE, PLATEDET_FILE, PLATEDET_PACKAGE
        from models.plates.ocr import RECOGNISER_FILE, RECOGNISER_PACKAGE

        detector = config.plates.models.detector
        if detector.model_path is not None:
            files["plate_detector"] = detector.model_path
        elif detector.backend == "platedet":
            files["plate_detector"] = Path(package_file(PLATEDET_PACKAGE, PLATEDET_FILE))
        else:
            files["plate_detector"] = Path(cv2.data.haarcascades) / CASCADE_FILE  # type: ignore[attr-defined]
        reader = config.plates.models.reader.model_path
        files["plate_recogniser"] = reader or Path(package_file(RECOGNISER_PACKAGE, RECOGNISER_FILE))
    return files


def build_agent(
    config: TrafficConfig,
    spool: Spool,
    camera_id: CameraId,
    clock_source: ClockSource,
    start_time: float,
    camera_health: CameraHealthConfig | None = None,
    signal_controller: NtcipController | None = None,
) -> TrafficAgent:
    """Pipeline, plate stage, watchlist and violation stage as the traffic section configures them, and the
    camera's tamper monitor as the device's ``camera_health`` section does (None: its defaults, enabled).
    ``signal_controller`` is the ``signals`` section's controller driver (None: one on its ``controller`` config
    and the wall clock)."""
    health_config = camera_health if camera_health is not None else CameraHealthConfig()
    health = HealthReporter(health_config, spool, camera_id, clock_source) if health_config.enabled else None
    gate = HealthGate(_measures_of(health) if health is not None else None)
    pipeline = build_pipeline(config)
    plates = PlateStage.build(config.plates) if config.plates is not None else None
    watchlist = None
    if config.plates is not None and config.plates.watchlist is not None:
        watchlist = Watchlist.load(config.plates.watchlist)
    violations = None
    signals: SignalRuntime | None = None
    if config.violations is not None and config.scene is not None:
        context = EvidenceContext(
            camera_id=camera_id,
            clock_source=clock_source,
            calibration_version=config.calibration.version if config.calibration is not None else "uncalibrated",
            location=config.scene.location,
            model_files=model_files(config),
            calibration=config.calibration,
            speed=config.speed,
            clock=clock_status(clock_source),
        )
        classifier = None
        camera_heads = config.signals is not None and config.signals.camera is not None
        if camera_heads or (config.violations.signal.controller_log is None and config.scene.signal_roi is not None):
            from models.lights import build_light_classifier, default_model_path

            classifier = build_light_classifier()
            files = {**context.model_files, "light_classifier": default_model_path()}
            context = dataclasses.replace(context, model_files=files)
        if config.signals is not None:
            signals = SignalRuntime(config.signals, classifier, signal_controller)
            signals.start()
        violations = ViolationStage(
            config.scene,
            config.violations,
            context,
            spool,
            classifier if signals is None else None,
            stream_start=start_time,
            health=gate if health is not None else None,
            fusion=signals.fusion if signals is not None else None,
        )
        spool.set_state(EVIDENCE_CHAIN, str(config.violations.evidence.chain_dir.resolve()))  # its HEAD is reported
    worker = config.track_worker and (plates is not None or violations is not None)
    return TrafficAgent(
        pipeline,
        spool,
        camera_id,
        clock_source,
        plates,
        violations,
        watchlist,
        worker,
        health=health,
        gate=gate,
        signals=signals,
    )


def _measures_of(health: HealthReporter) -> Callable[[], CameraHealthMeasures]:
    return lambda: health.measures


def run_agent(
    config: TrafficConfig,
    source: str | Path,
    spool: Spool,
    camera_id: CameraId,
    clock_source: ClockSource = ClockSource.FILE,
    max_frames: int | None = None,
    start_time: float | None = None,
    camera_health: CameraHealthConfig | None = None,
) -> RunStats:
    """Run a source to its end in one pass: one ``VehicleEvent`` per finished confirmed track (with its plate),
    plus watchlist alerts and one ``ViolationEvent`` per violation (with its signed package) when configured.
    The source's health (state, drops, reconnects) is kept in the spool under ``HEALTH_KEY``.

    Args:
        source: a video file, or a live camera's URL / USB index.
        start_time: Unix time of a file's frame 0 (default: now).
        camera_health: the device's tamper monitor section (None: its defaults, enabled).
    """
    start = time.time() if start_time is None else start_time
    agent = build_agent(config, spool, camera_id, clock_source, start, camera_health)
    frames = read_frames(source, max_frames, config.frame_plan.decode_queue, start, clock_source)
    health = SourceHealth(spool, HEALTH_KEY)

    def on_status(status: SourceStatus) -> None:
        health.update(status)
        agent.on_status(status)

    try:
        stats = run_stream(agent.pipeline, frames, agent.on_track, agent.on_frame, on_status)
    finally:
        begin = time.perf_counter()
        agent.close()
    stats.seconds += time.perf_counter() - begin  # wall time includes the worker's tail
    stats.plates, stats.violations = agent.stats.plates, agent.stats.violations
    stats.alerts, stats.plate_seconds = agent.stats.alerts, agent.stats.plate_seconds
    stats.health = list(agent.health.events) if agent.health is not None else []
    stats.withheld = agent.violations.withheld if agent.violations is not None else 0
    logger.info(
        "traffic: %d frames (%d detected) in %.1f s, %.1f fps, %d tracks, %d plates, %d violations",
        stats.frames,
        stats.detector_frames,
        stats.seconds,
        stats.fps,
        len(stats.summaries),
        len(stats.plates),
        len(stats.violations),
    )
    return stats
