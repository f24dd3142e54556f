"""The school entry stage of ``kuzet demo``: the door agent on the bundled clip (with its thermal replay) and two
probe photos carried in across the door line -> the spool -> the backend's attendance -> parent messages over SMTP.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from kuzet.demo.support import SCHOOL_ID, DemoBackend, SmtpInbox, drain, wait_for

if TYPE_CHECKING:
    from backend.db import Target
    from backend.settings import Settings
    from edge.school.config import SchoolConfig
    from edge.school.gallery import Gallery
    from edge.school.pipeline import FaceModels
    from edge.spool import Spool
    from kuzet.contracts import EntryEvent

# 07:52 at a school in Almaty or Astana (UTC+5); the bundled thermal replay is aligned to this start
# (``python -m kuzet.demo.thermal --start 2026-09-01T02:52:00+00:00``).
DEMO_START = datetime(2026, 9, 1, 2, 52, tzinfo=UTC)
DEMO_CAMERA = "demo-door-1"


def door_config(samples_dir: Path, work_dir: Path) -> SchoolConfig:
    """The demo door: the bundled clip's frame (640x360) registered to a 32x24 MLX90640-class thermal array."""
    from edge.school.config import SchoolConfig
    from hardware.thermal import Registration

    registration = Registration.scaled((640, 360), (32, 24))
    return SchoolConfig.model_validate(
        {
            "school_id": SCHOOL_ID,
            "gallery_path": work_dir / "gallery.npz",
            "gallery_key_path": work_dir / "gallery.key",
            "tracker": {"frame_stride": 2},
            "identify": {"gallery_size": 3},  # the demo school's gallery: 3 pupils (threshold ~0.52)
            "thermal": {"registration": registration, "replay_path": samples_dir / "school" / "thermal_replay.npz"},
            "door": {"line": ((0.0, 0.6), (1.0, 0.6)), "inside": "left"},
        }
    )


def run_door(samples_dir: Path, spool: Spool, work_dir: Path) -> list[str]:
    """Enrol the sample people, run the bundled clip (with its thermal replay) and two probe photos carried in
    across the door line into ``spool``; returns readable summary lines."""
    from edge.school.agent import build_models, run_agent
    from edge.school.gallery import Gallery, GalleryFile
    from edge.school.pipeline import SchoolPipeline
    from hardware.camera import VideoFileSource
    from hardware.thermal import ReplayThermalSensor

    school_dir = samples_dir / "school"
    config = door_config(samples_dir, work_dir)
    models = build_models(config)
    gallery = Gallery.empty(models.embedder.dim, models.embedder.model)
    lines = _enrol(school_dir / "people", gallery, models)
    GalleryFile.of(config).save(gallery)
    assert config.thermal is not None and config.thermal.replay_path is not None
    sensor = ReplayThermalSensor(config.thermal.replay_path, config.thermal.tolerance_s)
    source = VideoFileSource(school_dir / "short_hamilton_clip.mp4", start=DEMO_START)
    stats = run_agent(SchoolPipeline(config, models, gallery), source, spool, DEMO_CAMERA, sensor)
    lines.append(
        f"school door, Hamilton clip: {stats.frames} frames -> {len(stats.events)} entry events (one per pass)"
    )
    if sensor.source == "synthetic":
        lines.append(
            "  thermal: the 32x24 recording is SYNTHETIC, rendered from this clip's own face boxes"
            " (kuzet.demo.thermal): its temperatures are labelled synthetic and measure nothing"
        )
    lines += [_describe(event, gallery, config) for event in stats.events]
    for probe in sorted((school_dir / "probes").glob("*.jpg")):
        events = _walk_in(probe, config, models, gallery, spool)
        lines.append(f"school door, {probe.name} carried in across the door line -> {len(events)} entry events")
        lines += [_describe(event, gallery, config) for event in events]
    return lines


def _enrol(people: Path, gallery: Gallery, models: FaceModels) -> list[str]:
    from edge.school.enrol import enrol_photos

    lines = []
    for person in sorted(p for p in people.iterdir() if p.is_dir()):
        photos = sorted(person.glob("*.jpg"))
        name = person.name.replace("_", " ").title()
        verdicts = enrol_photos(gallery, person.name, name, photos, models.detector, models.embedder)
        lines.append(f"enrolled {person.name}: {sum(v.accepted for v in verdicts)}/{len(verdicts)} photos accepted")
    return lines


def _walk_in(photo: Path, config: SchoolConfig, models: FaceModels, gallery: Gallery, spool: Spool) -> list[EntryEvent]:
    """A photo carried up through a 640x480 door view across the door line (a pupil walking in), 36 frames."""
    import cv2
    import numpy as np

    from edge.school.pipeline import SchoolPipeline, publish
    from hardware.camera import Frame
    from kuzet.contracts import ClockSource

    image = np.asarray(cv2.imread(str(photo), cv2.IMREAD_COLOR), np.uint8)
    scale = 360 / image.shape[0]
    person = cv2.resize(image, (round(image.shape[1] * scale), 360), interpolation=cv2.INTER_AREA)[:, :640]
    pipeline = SchoolPipeline(config, models, gallery)
    start = DEMO_START + timedelta(minutes=1)
    frames = []
    for i, top in enumerate(np.linspace(330, -60, 36).astype(int)):
        canvas = np.full((480, 640, 3), 90, np.uint8)
        rows = slice(max(top, 0), min(top + 360, 480))
        canvas[rows, : person.shape[1]] = person[rows.start - top : rows.stop - top]
        frames.append(Frame(canvas, i, start + timedelta(seconds=i / 15), ClockSource.FILE))
    results = [r for f in frames for r in pipeline.process(f)] + pipeline.flush()
    return publish(results, spool, DEMO_CAMERA, config.school_id)


def _describe(event: EntryEvent, gallery: Gallery, config: SchoolConfig) -> str:
    who = gallery.names.get(event.pupil_id or "", "unknown")
    temp = _temperature(event)
    score = "" if event.match_score is None else f" (cos {event.match_score:.3f})"
    return (
        f"  {event.captured_at:%H:%M:%S.%f}"[:-3] + f" UTC track {event.track_id}: {who}{score}, {event.direction}, "
        f"mask {event.mask}, {temp}, {event.frames_used} frames"
    )


def _temperature(event: EntryEvent) -> str:
    """The event's temperature as the door decided it, always with its source (synthetic data says so)."""
    if event.temperature_c is None:
        return "no reading"
    sigma = "" if event.temperature_sigma_c is None else f" +- {event.temperature_sigma_c:.1f}"
    label = {"synthetic": " SYNTHETIC", "sensor": " measured"}.get(event.temperature_source or "", " unlabelled")
    threshold = event.fever_threshold_c
    fever = threshold is not None and event.temperature_c >= threshold
    return f"{event.temperature_c:.1f}{sigma} C{label}" + (f" FEVER (>= {threshold:.1f})" if fever else "")


def _outbox_pending(db_path: Target) -> int:
    from backend.db import connect
    from notifications import outbox

    db = connect(db_path)
    try:
        counts = outbox.counts(db.conn)
    finally:
        db.conn.close()
    return counts["pending"] + counts["sending"]


def stage(api: DemoBackend, settings: Settings, inbox: SmtpInbox, samples: Path) -> list[str]:
    """Door agent on the bundled clip -> spool -> backend attendance -> parent messages over SMTP."""
    from kuzet.demo.seed import demo_messages

    spool, uplink = api.device(DEMO_CAMERA, "school", SCHOOL_ID)
    lines = run_door(samples, spool, api.work_dir / "school")
    lines.append(f"uplink {DEMO_CAMERA}: {drain(spool, uplink)} events sent")
    wait_for(lambda: _outbox_pending(settings.database) == 0, 30)
    lines += demo_messages(settings.database, SCHOOL_ID)
    lines.append(f"local SMTP server received {len(inbox.messages)} messages")
    return lines
