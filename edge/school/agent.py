"""The school door agent: frames from a ``FrameSource`` (+ a ``ThermalSensor``) through the pipeline into the
spool, with counters for the health endpoint.

Every decoded frame, every change of the source's state and, where the door has a thermal sensor, the sensor's
health (``hardware.thermal.thermal_health``) also go to the camera's tamper monitor
(``edge.camera.events.HealthReporter``), which spools a ``CameraHealthEvent`` when the door camera is covered,
frozen, moved, defocused or offline, and when it is healthy again.

When the source reports a new drop (its ``SourceStatus.drops`` grew since the last frame), every live track is
closed before the next frame is processed (``SchoolPipeline.close_passes("camera_drop")``): the person seen after
a reconnect is a new pass. With ``ReadAhead`` the status can run up to its queue ahead of the frames, so such a
pass may close a few frames early; the capture-time gap check in the pipeline closes it on the first frame after
any outage longer than ``tracker.max_gap_s`` in any case.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from edge.camera.config import CameraHealthConfig
from edge.camera.events import HealthReporter
from edge.camera.source_health import SourceHealth
from edge.school.config import SchoolConfig
from edge.school.pipeline import FaceModels, SchoolPipeline, publish
from edge.spool import Spool
from hardware.camera import FrameSource, SourceStatus
from hardware.thermal import ThermalSensor, thermal_health
from kuzet.contracts import CameraHealthEvent, EntryEvent
from models.runtime import RunnerConfig

logger = logging.getLogger(__name__)

HEALTH_KEY = "school.camera"  # the door camera's source status in the spool (``edge.camera.source_health``)


def build_models(config: SchoolConfig, runner_config: RunnerConfig | None = None) -> FaceModels:
    """Load the configured detector, embedder and mask classifier (real weights; raises ``ModelError``)."""
    from models.faces.detector import build_face_detector
    from models.faces.embedder import build_face_embedder
    from models.faces.mask import build_mask_classifier

    return FaceModels(
        detector=build_face_detector(config.detector, runner_config),
        embedder=build_face_embedder(config.embedder),
        mask=build_mask_classifier(config.mask, runner_config),
    )


@dataclass
class AgentStats:
    """What a run did; ``source`` is the frame source's health at the end."""

    frames: int = 0
    thermal_frames: int = 0
    events: list[EntryEvent] = field(default_factory=list)
    source: SourceStatus | None = None
    health: list[CameraHealthEvent] = field(default_factory=list)


def run_agent(
    pipeline: SchoolPipeline,
    source: FrameSource,
    spool: Spool,
    camera_id: str,
    thermal: ThermalSensor | None = None,
    stop: threading.Event | None = None,
    camera_health: CameraHealthConfig | None = None,
) -> AgentStats:
    """Run until the source ends (or ``stop`` is set); every pass becomes one event in the spool.

    Args:
        pipeline: the school pipeline.
        source: frames (file, RTSP, USB).
        spool: where the events go.
        camera_id: the device's camera id for the events.
        thermal: the radiometric sensor, or None when the door has none (temperatures stay missing).
        stop: set it from another thread to end the run; live tracks are flushed as passes.
        camera_health: the device's tamper monitor section (None: its defaults, enabled).
    """
    stats = AgentStats()
    school_id = pipeline.config.school_id
    health = SourceHealth(spool, HEALTH_KEY)
    health.update(source.status())
    drops = source.status().drops
    monitor: HealthReporter | None = None
    health_config = camera_health if camera_health is not None else CameraHealthConfig()
    for frame in source:
        if monitor is None and health_config.enabled:  # the frames name their clock
            monitor = HealthReporter(health_config, spool, camera_id, frame.clock_source)
        reading = thermal.frame_at(frame.captured_at) if thermal is not None else None
        stats.frames += 1
        stats.thermal_frames += reading is not None
        status = source.status()
        if status.drops != drops:  # the camera dropped since the last frame: nobody walks on through an outage
            drops = status.drops
            stats.events += publish(pipeline.close_passes("camera_drop"), spool, camera_id, school_id)
        stats.events += publish(pipeline.process(frame, reading), spool, camera_id, school_id)
        health.update(status)
        if monitor is not None:
            monitor.observe(frame.image, frame.captured_at)
            monitor.observe_source(status, frame.captured_at)
            if thermal is not None:
                ok, reason = thermal_health(reading, frame.captured_at)
                monitor.observe_thermal(ok, frame.captured_at, reason)
        if stop is not None and stop.is_set():
            break
    stats.events += publish(pipeline.flush(), spool, camera_id, school_id)
    stats.source = source.status()
    health.update(stats.source)
    if monitor is not None:
        monitor.observe_source(stats.source)
        stats.health = list(monitor.events)
    logger.info("school agent: %d frames, %d events, source %s", stats.frames, len(stats.events), stats.source.state)
    return stats
