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


def _report(result: dict[str, object], as_json: bool) -> None:
    if as_json:
        emit_json(result)
    else:
        for key, value in sorted(result.items()):
            click.echo(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")
