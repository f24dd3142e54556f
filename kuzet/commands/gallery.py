"""Face gallery commands: ``kuzet calibrate-faces`` (the door's threshold, per comparison and per pass at gallery
scale) and ``kuzet reembed-faces`` (a school's templates re-made with the current embedder)."""

from __future__ import annotations

from pathlib import Path

import click

from kuzet.commands.common import fail, load_or_exit, progress


@click.command("calibrate-faces")
@click.option(
    "--data",
    "roots",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder with one sub-folder of images per identity (repeatable)",
)
@click.option(
    "--singles",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder with one identity per image: more strangers for large galleries (repeatable)",
)
@click.option(
    "--far",
    default=1e-3,
    show_default=True,
    type=click.FloatRange(1e-9, 0.5),
    help="False-accept rate per comparison for the plain threshold",
)
@click.option(
    "--pass-far",
    default=1e-3,
    show_default=True,
    type=click.FloatRange(1e-9, 0.5),
    help="Target false-accept rate per pass (a stranger against the whole gallery)",
)
@click.option("--sizes", default="100,1000,5000", show_default=True, help="Gallery sizes to report")
@click.option("--embedder", "backend", default="sface", show_default=True, type=click.Choice(["sface", "dlib"]))
@click.option("--exclude", multiple=True, help="Glob of face labels (FOLDER/IDENTITY) to leave out: documented copies")
@click.option("--merge-above", type=click.FloatRange(0.0, 1.0), help="Merge identities with a pair scored this high")
@click.option("--cache", type=click.Path(dir_okay=False, path_type=Path), help="Embeddings file reused when present")
@click.option(
    "--masked-probes",
    is_flag=True,
    help="Also measure the masked-probe offsets (edge/school/masked_calibrate.py): a synthetic mask on every image",
)
def calibrate_faces(roots: tuple[Path, ...], singles: tuple[Path, ...], far: float, pass_far: float, sizes: str,
                    backend: str, exclude: tuple[str, ...], merge_above: float | None,
                    cache: Path | None, masked_probes: bool) -> None:  # fmt: skip
    """Calibrate the door's threshold on local faces: per comparison and per pass at gallery scale (JSON)."""
    import json

    from edge.school.calibrate import calibrate, collect_faces, load_faces, save_faces, select_faces
    from edge.school.config import SchoolConfig
    from models.faces.detector import build_face_detector
    from models.faces.embedder import build_face_embedder, embedder_model

    config = SchoolConfig.model_validate({"school_id": "calibration", "embedder": {"backend": backend}})
    model = embedder_model(config.embedder)
    if cache is not None and cache.is_file():
        faces = load_faces(cache, model)
    else:
        if not roots and not singles:
            fail("give at least one --data or --singles folder")
        detector, embedder = build_face_detector(config.detector), build_face_embedder(config.embedder)
        faces = collect_faces(roots, singles, detector, embedder, progress)
        if cache is not None:
            save_faces(faces, model, cache)
    faces = select_faces(faces, exclude, merge_above)
    report = calibrate(faces, far, pass_far, [int(s) for s in sizes.split(",") if s.strip()])
    settings = {"exclude": list(exclude), "merge_above": merge_above}
    if masked_probes:  # same folders and selection; the masked image is detected again, as the door would see it
        from edge.school.masked_calibrate import collect_pairs, masked_report

        models = (build_face_detector(config.detector), build_face_embedder(config.embedder))
        pairs = collect_pairs(roots, singles, models, progress)
        sizes_list = [int(s) for s in sizes.split(",") if s.strip()]
        report["masked"] = masked_report(*pairs, pass_far, sizes_list, (exclude, merge_above))
    click.echo(json.dumps({"embedder": model, **settings, **report}, indent=1))


@click.command("reembed-faces")
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path), help="Backend YAML file")
@click.option("--school", "school_id", required=True, help="School whose templates of another embedder are re-made")
def reembed_faces(config_path: Path, school_id: str) -> None:
    """Re-make a school's templates of another embedder (dlib) with the current one, from the enrolment thumbnails."""
    from backend.db import connect, transaction
    from backend.services.enrolment import FaceKit, reembed_school
    from backend.settings import Settings

    settings = load_or_exit(config_path, Settings)
    db = connect(settings.database)
    with transaction(db) as conn:
        report = reembed_school(conn, settings.template_key_bytes, FaceKit(), school_id)
    click.echo(f"{school_id}: {len(report.reembedded)} pupils re-embedded with {report.model}; templates per model"
               f" {report.templates_by_model}")  # fmt: skip
    if report.needs_photos:
        click.echo(f"need new enrolment photos (no usable thumbnail): {', '.join(report.needs_photos)}", err=True)


COMMANDS: list[click.Command] = [calibrate_faces, reembed_faces]
