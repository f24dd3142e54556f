"""School door commands: ``kuzet enroll``, ``kuzet edge school`` and the demo hook ``demo_school``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kuzet.commands import edge_group
from kuzet.commands.common import fail, load_or_exit, progress

if TYPE_CHECKING:
    from edge.school.config import SchoolConfig
    from edge.school.gallery import Gallery
    from edge.school.pipeline import FaceModels
    from edge.spool import Spool
    from kuzet.contracts import EntryEvent

DEMO_START = datetime(2026, 9, 1, 2, 52, tzinfo=UTC)  # 07:52 at a school in Almaty or Astana (UTC+5)
DEMO_CAMERA = "demo-door-1"


@click.command("enroll")
@click.option("--pupil", "pupil_id", required=True, help="Pupil id (as in the school register)")
@click.option("--name", required=True, help="Pupil's name, shown to staff")
@click.option(
    "--gallery",
    "gallery_path",
    default=Path("var/gallery.npz"),
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Gallery file to add the templates to (created when missing)",
)
@click.argument("photos", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def enroll(pupil_id: str, name: str, gallery_path: Path, photos: tuple[Path, ...]) -> None:
    """Enrol a pupil from PHOTOS: one message per photo; only templates and one thumbnail are kept."""
    from edge.school.config import SchoolConfig
    from edge.school.enrol import enrol_photos
    from edge.school.gallery import Gallery
    from models.faces.detector import build_face_detector
    from models.faces.embedder import build_embedder

    config = SchoolConfig(school_id="local")
    gallery = Gallery.load_or_empty(gallery_path)
    detector = build_face_detector(config.detector)
    verdicts = enrol_photos(gallery, pupil_id, name, photos, detector, build_embedder(config.embedder))
    for verdict in verdicts:
        click.echo(
            f"{verdict.filename}: {'accepted' if verdict.accepted else verdict.message}", err=not verdict.accepted
        )
    accepted = sum(v.accepted for v in verdicts)
    if not accepted:
        fail(f"no usable photo of {pupil_id}; nothing enrolled", code=1)
    gallery.save(gallery_path)
    click.echo(f"enrolled {pupil_id} ({name}): {accepted} template(s); gallery {gallery_path} v{gallery.version}")


@edge_group.command("school")
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path), help="Device YAML file")
@click.option("--video", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Replay a video file")
@click.option("--thermal", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Radiometric replay")
@click.option("--offline", is_flag=True, help="Do not pull gallery changes from the backend before starting")
def edge_school(config_path: Path, video: Path | None, thermal: Path | None, offline: bool) -> None:
    """Run the school door pipeline: camera (or --video) -> one entry event per pass -> the spool."""
    from edge.school.agent import build_models, run_agent
    from edge.school.config import SchoolDeviceConfig
    from edge.school.gallery import Gallery
    from edge.school.pipeline import SchoolPipeline
    from edge.school.sync import GalleryClient, sync_gallery
    from edge.spool import Spool
    from hardware.camera import FrameSource, StreamConfig, StreamSource, VideoFileSource
    from hardware.thermal import ReplayThermalSensor

    device = load_or_exit(config_path, SchoolDeviceConfig)
    school = device.school
    source: FrameSource
    if video is not None:
        source = VideoFileSource(video)
    elif school.source is not None:
        source = StreamSource(StreamConfig(uri=school.source, clock_source=device.clock_source))
    else:
        fail("no camera: set school.source in the config or pass --video")
    replay = thermal or (school.thermal.replay_path if school.thermal else None)
    sensor = None
    if replay is not None:
        sensor = ReplayThermalSensor(replay, school.thermal.tolerance_s if school.thermal else 0.25)
        if video is not None:
            sensor = ReplayThermalSensor(replay, sensor.tolerance_s, _offset_to(replay, source))
    spool = Spool(device.spool.path, device.spool.max_events)
    gallery = Gallery.load_or_empty(school.gallery_path)
    if not offline:
        synced = sync_gallery(gallery, school.school_id, GalleryClient(device.uplink), school.gallery_path)
        note = f"; backend unreachable, using the local copy: {synced.error}" if synced.error else ""
        progress(f"gallery v{synced.to_version} ({len(gallery)} templates){note}")
    pipeline = SchoolPipeline(school, build_models(school), gallery)
    stats = run_agent(pipeline, source, spool, device.camera_id, sensor)
    progress(f"{stats.frames} frames, {len(stats.events)} events, source {stats.source}")
    for event in stats.events:
        click.echo(event.model_dump_json())


def _offset_to(replay: Path, source: object) -> float:
    """Align a replayed thermal recording with a replayed video: both start together."""
    import numpy as np

    start = getattr(source, "start", None)
    with np.load(replay, allow_pickle=False) as data:
        first = float(data["timestamps"][0]) if len(data["timestamps"]) else 0.0
    return 0.0 if start is None else start.timestamp() - first


def demo_config(samples_dir: Path, work_dir: Path) -> SchoolConfig:
    """The demo door: the bundled clip's frame (640x360) registered to a 32x24 MLX90640-class thermal array."""
    from edge.school.config import SchoolConfig
    from hardware.thermal import Registration

    registration = Registration.scaled((640, 360), (32, 24))
    return SchoolConfig.model_validate(
        {
            "school_id": "demo-school",
            "gallery_path": work_dir / "gallery.npz",
            "tracker": {"frame_stride": 2},
            "thermal": {"registration": registration, "replay_path": samples_dir / "school" / "thermal_replay.npz"},
            "door": {"line": ((0.0, 0.6), (1.0, 0.6)), "inside": "left"},
        }
    )


def demo_school(samples_dir: Path, spool: Spool, work_dir: Path) -> list[str]:
    """Enrol the sample people, run the bundled clip (with its thermal replay) and two probe photos carried in
    across the door line into ``spool``; returns readable summary lines."""
    from edge.school.agent import build_models, run_agent
    from edge.school.gallery import Gallery
    from edge.school.pipeline import SchoolPipeline
    from hardware.camera import VideoFileSource
    from hardware.thermal import ReplayThermalSensor

    school_dir = samples_dir / "school"
    config = demo_config(samples_dir, work_dir)
    models = build_models(config)
    gallery = Gallery.empty(models.embedder.dim)
    lines = _demo_enrol(school_dir / "people", gallery, models)
    gallery.save(config.gallery_path)
    assert config.thermal is not None and config.thermal.replay_path is not None
    sensor = ReplayThermalSensor(config.thermal.replay_path, config.thermal.tolerance_s)
    source = VideoFileSource(school_dir / "short_hamilton_clip.mp4", start=DEMO_START)
    stats = run_agent(SchoolPipeline(config, models, gallery), source, spool, DEMO_CAMERA, sensor)
    lines.append(
        f"school door, Hamilton clip: {stats.frames} frames -> {len(stats.events)} entry events (one per pass)"
    )
    lines += [_describe(event, gallery, config) for event in stats.events]
    for probe in sorted((school_dir / "probes").glob("*.jpg")):
        events = _demo_walk(probe, config, models, gallery, spool)
        lines.append(f"school door, {probe.name} carried in across the door line -> {len(events)} entry events")
        lines += [_describe(event, gallery, config) for event in events]
    return lines


def _demo_enrol(people: Path, gallery: Gallery, models: FaceModels) -> list[str]:
    from edge.school.enrol import enrol_photos

    lines = []
    for person in sorted(p for p in people.iterdir() if p.is_dir()):
        photos = sorted(person.glob("*.jpg"))
        name = person.name.replace("_", " ").title()
        verdicts = enrol_photos(gallery, person.name, name, photos, models.detector, models.embedder)
        lines.append(f"enrolled {person.name}: {sum(v.accepted for v in verdicts)}/{len(verdicts)} photos accepted")
    return lines


def _demo_walk(
    photo: Path, config: SchoolConfig, models: FaceModels, gallery: Gallery, spool: Spool
) -> list[EntryEvent]:
    """A photo carried up through a 640x480 door view across the door line (a pupil walking in), 36 frames."""
    from datetime import timedelta

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
    fever = config.thermal is not None and (event.temperature_c or 0.0) >= config.thermal.fever_c
    temp = "no reading" if event.temperature_c is None else f"{event.temperature_c:.1f} C" + (" FEVER" if fever else "")
    score = "" if event.match_score is None else f" (cos {event.match_score:.3f})"
    return (
        f"  {event.captured_at:%H:%M:%S.%f}"[:-3] + f" UTC track {event.track_id}: {who}{score}, {event.direction}, "
        f"mask {event.mask}, {temp}, {event.frames_used} frames"
    )


COMMANDS: list[click.Command] = [enroll]
