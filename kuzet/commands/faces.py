"""Face-model commands: ``kuzet eval faces`` and ``kuzet eval masks`` (contract: ../shared/EVAL.md), thin over
``kuzet.eval.faces`` and ``kuzet.eval.masks``."""

from __future__ import annotations

from pathlib import Path

import click

from kuzet.commands import eval_group
from kuzet.commands.common import emit_json, evaluate_or_exit, progress

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
    from kuzet.eval import faces

    _report(evaluate_or_exit(lambda: faces.run(data, enroll, backend, progress)), as_json)


@eval_group.command("masks")
@click.option("--data", "data", required=True, type=click.Path(path_type=Path), help="Mask evaluation folder")
@click.option("--min-size", default=24, show_default=True, type=click.IntRange(1, 4096), help="labels.csv layout")
@click.option(
    "--include-training",
    is_flag=True,
    help="Also score files the classifier was trained on (default: they are left out and counted)",
)
@click.option(
    "--grey",
    is_flag=True,
    help="Score the IR / night-mode variant: every image converted to grey (BT.601 luma) before classification",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout")
def eval_masks(data: Path, min_size: int, include_training: bool, grey: bool, as_json: bool) -> None:
    """Mask / no-mask accuracy: with_mask/ + without_mask/ folders, or labels.csv with face boxes.

    A face too small, dark or blurred to judge gets the answer unknown: counted in ``unknown`` and as wrong in
    ``accuracy`` (``accuracy_judged`` leaves those out).
    """
    from kuzet.eval import masks

    _report(evaluate_or_exit(lambda: masks.run(data, min_size, include_training, progress, grey)), as_json)


def _report(result: dict[str, object], as_json: bool) -> None:
    if as_json:
        emit_json(result)
    else:
        for key, value in sorted(result.items()):
            click.echo(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")
