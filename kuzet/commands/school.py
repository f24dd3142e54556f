"""School door commands: ``kuzet enroll``, ``kuzet edge school`` and ``kuzet edge thermal-register``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from kuzet.commands import edge_group
from kuzet.commands.common import fail, load_or_exit, progress


@click.command("enroll")
@click.option("--pupil", "pupil_id", required=True, help="Pupil id (as in the school register)")
@click.option("--name", required=True, help="Pupil's name, shown to staff")
@click.option(
    "--gallery",
    "gallery_path",
    default=Path("var/gallery.npz"),
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Gallery file to add the templates to (created when missing; encrypted with the key file)",
)
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The gallery's key file (32 random bytes, created with mode 0600 when new) [default: beside the gallery]",
)
@click.option("--thumbnails/--no-thumbnails", default=False, show_default=True, help="Keep a face thumbnail")
@click.argument("photos", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def enroll(
    pupil_id: str, name: str, gallery_path: Path, key_path: Path | None, thumbnails: bool, photos: tuple[Path, ...]
) -> None:
    """Enrol a pupil from PHOTOS: one message per photo; only templates (and a thumbnail if asked) are kept."""
    from edge.school.config import SchoolConfig
    from edge.school.enrol import enrol_photos
    from edge.school.gallery import GalleryFile, GalleryKeyError
    from models.faces.detector import build_face_detector
    from models.faces.embedder import build_face_embedder

    config = SchoolConfig(school_id="local")
    store = GalleryFile(gallery_path, key_path or gallery_path.with_suffix(".key"), thumbnails)
    embedder = build_face_embedder(config.embedder)
    try:
        gallery = store.load(embedder.model, embedder.dim)
    except GalleryKeyError as exc:
        fail(str(exc))
    detector = build_face_detector(config.detector)
    verdicts = enrol_photos(gallery, pupil_id, name, photos, detector, embedder, keep_thumbnail=thumbnails)
    for verdict in verdicts:
        click.echo(
            f"{verdict.filename}: {'accepted' if verdict.accepted else verdict.message}", err=not verdict.accepted
        )
    accepted = sum(v.accepted for v in verdicts)
    if not accepted:
        fail(f"no usable photo of {pupil_id}; nothing enrolled", code=1)
    store.save(gallery)
    click.echo(f"enrolled {pupil_id} ({name}): {accepted} template(s); gallery {gallery_path} v{gallery.version}")


@edge_group.command("school")
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path), help="Device YAML file")
@click.option("--video", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Replay a video file")
@click.option("--thermal", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Radiometric replay")
@click.option("--offline", is_flag=True, help="Do not pull gallery changes from the backend before starting")
def edge_school(config_path: Path, video: Path | None, thermal: Path | None, offline: bool) -> None:
    """Run the school door pipeline: camera (or --video) -> one entry event per pass -> the spool."""
    from edge.camera.baseline import Baseline, BaselineError
    from edge.school.agent import build_models, run_agent
    from edge.school.config import SchoolDeviceConfig
    from edge.school.gallery import GalleryFile, GalleryKeyError
    from edge.school.pipeline import SchoolPipeline
    from edge.school.sync import GalleryClient, sync_gallery
    from edge.school.temperature import open_sensor
    from edge.spool import Spool
    from hardware.camera import open_source
    from hardware.thermal import ReplayThermalSensor, ThermalSensor

    device = load_or_exit(config_path, SchoolDeviceConfig)
    school = device.school
    if device.camera_health.enabled and device.camera_health.baseline_path is not None:
        try:  # checked before any model loads: a wrong path is a one-line error, not a traceback later
            Baseline.load(device.camera_health.baseline_path)
        except BaselineError as exc:
            fail(str(exc))
    uri = video if video is not None else school.source
    if uri is None:
        fail("no camera: set school.source in the config or pass --video")
    source = open_source(uri, device.clock_source)
    replay = thermal or (school.thermal.replay_path if school.thermal and school.thermal.sensor == "replay" else None)
    sensor: ThermalSensor | None = None
    if replay is not None:
        sensor = ReplayThermalSensor(replay, school.thermal.tolerance_s if school.thermal else 0.25)
        if video is not None:
            sensor = ReplayThermalSensor(replay, sensor.tolerance_s, _offset_to(replay, source))
    elif school.thermal is not None:
        try:  # a live MLX90640 or Lepton
            sensor = open_sensor(school.thermal)
        except (OSError, ValueError, ImportError, RuntimeError) as exc:
            fail(f"thermal {school.thermal.sensor} could not be opened: {exc}")
    spool = Spool(device.spool.path, device.spool.max_events)
    models = build_models(school)
    store = GalleryFile.of(school)
    try:
        gallery = store.load(models.embedder.model, models.embedder.dim)
    except GalleryKeyError as exc:
        fail(str(exc))
    if not offline:
        synced = sync_gallery(gallery, school.school_id, GalleryClient(device.uplink), store)
        note = f"; backend unreachable, using the local copy: {synced.error}" if synced.error else ""
        progress(f"gallery v{synced.to_version} ({len(gallery)} templates){note}")
    pipeline = SchoolPipeline(school, models, gallery)
    stats = run_agent(pipeline, source, spool, device.camera_id, sensor, camera_health=device.camera_health)
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


@edge_group.command("thermal-register")
@click.option(
    "--pairs",
    "pairs_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with header x,y,u,v: a point clicked/detected in the visible (x, y) and thermal (u, v) image",
)
@click.option("--thermal-size", default="32x24", show_default=True, help="Thermal frame WIDTHxHEIGHT in pixels")
@click.option(
    "--model",
    default="homography",
    show_default=True,
    type=click.Choice(["homography", "affine"]),
    help="Mapping to fit (least squares over all pairs)",
)
@click.option(
    "--out",
    default=Path("var/thermal_registration.json"),
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File for school.thermal.registration_path",
)
def thermal_register(pairs_path: Path, thermal_size: str, model: str, out: Path) -> None:
    """Measure the visible->thermal mapping from point pairs; writes it with its reprojection RMS (thermal px)."""
    from hardware.thermal.registration import fit_registration, read_pairs, save_registration

    try:
        width, height = (int(v) for v in thermal_size.lower().split("x"))
        visible, thermal = read_pairs(pairs_path)
        kind: Literal["affine", "homography"] = "affine" if model == "affine" else "homography"
        registration = fit_registration(visible, thermal, (width, height), kind)
    except ValueError as exc:
        fail(f"thermal registration: {exc}")
    save_registration(out, registration)
    click.echo(
        f"{registration.model} from {registration.pairs} pairs: reprojection RMS {registration.rms_px:.3f} thermal px"
        f" -> {out} (set school.thermal.registration_path to it)"
    )
    if registration.rms_px is not None and registration.rms_px > 0.5:
        progress("RMS above 0.5 thermal px: a face ROI may fall on the background; add or re-click pairs")


COMMANDS: list[click.Command] = [enroll]
