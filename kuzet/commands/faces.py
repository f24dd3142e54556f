"""Face-model commands: ``kuzet eval faces`` and ``kuzet eval masks`` (contract: ../shared/EVAL.md)."""

from __future__ import annotations

from pathlib import Path

import click

from kuzet.commands import eval_group
from kuzet.commands.common import emit_json, fail, progress

COMMANDS: list[click.Command] = []


@eval_group.command("faces")
@click.option("--data", "data", required=True, type=click.Path(path_type=Path), help="One sub-folder per identity")
@click.option("--enroll", default=3, show_default=True, type=click.IntRange(1, 100), help="Images enrolled per id")
@click.option(
    "--detector",
    "backend",
    default="centerface",
    show_default=True,
    type=click.Choice(["centerface", "mtcnn"]),
    help="Face detector backend",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout")
def eval_faces(data: Path, enroll: int, backend: str, as_json: bool) -> None:
    """Identification (rank-1) and verification (TAR at FAR 1e-3) through detector + embedder."""
    from models.faces.config import FaceDetectorConfig
    from models.faces.detector import build_face_detector
    from models.faces.embedder import build_embedder
    from models.faces.evaluate import LayoutError, evaluate_faces, identity_folders

    try:
        identity_folders(data)
    except LayoutError as exc:
        fail(str(exc))
    detector = build_face_detector(FaceDetectorConfig.model_validate({"backend": backend}))
    result = evaluate_faces(data, detector, build_embedder(), enroll=enroll, progress=progress)
    _report(result, as_json)


@eval_group.command("masks")
@click.option("--data", "data", required=True, type=click.Path(path_type=Path), help="Mask evaluation folder")
@click.option("--min-size", default=24, show_default=True, type=click.IntRange(1, 4096), help="labels.csv layout")
@click.option(
    "--include-training",
    is_flag=True,
    help="Also score files the classifier was trained on (default: they are left out and counted)",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout")
def eval_masks(data: Path, min_size: int, include_training: bool, as_json: bool) -> None:
    """Mask / no-mask accuracy: with_mask/ + without_mask/ folders, or labels.csv with face boxes."""
    from models.faces.config import FaceDetectorConfig, MaskConfig
    from models.faces.detector import build_face_detector
    from models.faces.evaluate import LayoutError
    from models.faces.evaluate_masks import check_mask_layout, evaluate_masks
    from models.faces.mask import load_mask_classifier, training_report_path

    try:
        check_mask_layout(data)
    except LayoutError as exc:
        fail(str(exc))
    config = MaskConfig()
    classifier = load_mask_classifier(config)
    detector = build_face_detector(FaceDetectorConfig())
    report = training_report_path(config)
    result = evaluate_masks(data, classifier, detector, min_size, include_training, report, progress)
    _report(result, as_json)


def _report(result: dict[str, object], as_json: bool) -> None:
    if as_json:
        emit_json(result)
    else:
        for key, value in sorted(result.items()):
            click.echo(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")


def demo_lines(samples: Path) -> list[str]:
    """Offline demo of the face models on ``samples/faces``: detect, embed, match, mask; returns summary lines.

    Enrols ``rose_leslie.jpg`` and ``obama_small.jpg`` and finds them in ``kit_with_rose.jpg`` and
    ``obama-240p.jpg`` (threshold: cosine 0.93, near the FAR 1e-3 point measured on ORL).
    """
    import time

    import numpy as np

    from models.faces.config import FaceDetectorConfig, MaskConfig
    from models.faces.detector import build_face_detector
    from models.faces.embedder import build_embedder
    from models.faces.evaluate import read_image
    from models.faces.mask import load_mask_classifier

    folder = samples / "faces" if (samples / "faces").is_dir() else samples
    detector, embedder = build_face_detector(FaceDetectorConfig()), build_embedder()
    masks = load_mask_classifier(MaskConfig())
    names, gallery = [], []
    for name, file in (("rose_leslie", "rose_leslie.jpg"), ("obama", "obama_small.jpg")):
        image = read_image(folder / file)
        if image is None:
            return [f"faces demo: {folder / file} is missing"]
        faces = detector.detect(image)
        gallery.append(embedder.embed(image, faces[int(np.argmax(faces.area))])[0])
        names.append(name)
    lines = []
    for file in ("kit_with_rose.jpg", "obama-240p.jpg"):
        image = read_image(folder / file)
        if image is None:
            return [f"faces demo: {folder / file} is missing"]
        start = time.perf_counter()
        faces = detector.detect(image)
        scores = embedder.embed(image, faces) @ np.stack(gallery).T
        masked = masks.is_masked(masks.predict(image, faces))
        ms = 1000 * (time.perf_counter() - start)
        who = [
            f"{names[int(row.argmax())] if row.max() > 0.93 else 'unknown'} ({row.max():.3f}, mask={bool(m)})"
            for row, m in zip(scores, masked, strict=True)
        ]
        lines.append(f"faces: {file}: {len(faces)} face(s) in {ms:.0f} ms: " + ", ".join(who))
    return lines
