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
    default=None,
    type=click.Choice(["centerface", "mtcnn"]),
    help="Face detector backend (default: the door's own; another one is listed in differs_from_door)",
)
@click.option(
    "--masked-probes",
    is_flag=True,
    help=(
        "Paste a synthetic mask on every probe (enrolment images stay bare), from the face's five CenterFace "
        "landmarks in the face's own frame (x along the eyes, y towards the mouth): the top closes over the nose "
        "a third of the way from the bridge (eye midpoint) to the nose tip; the upper edge drops under the eyes "
        "(at least 0.35 eye-to-mouth distances below them) and runs to the ears, 0.5 eye-to-mouth distances below "
        "the eye line where the box sides are, kept 0.85-1.25 eye distances from the nose; the jaw is a quarter "
        "ellipse from each ear to the chin, 0.55 eye-to-mouth distances below the mouth (never below the box "
        "bottom); so the nose tip, mouth and chin are covered and the eyes never. Fill: flat light blue, white, "
        "grey or black, chosen per image from --mask-seed and the identity/file name, with a Gaussian soft edge "
        "(0.04 eye distances). The masked image is detected again, as the door would see it "
        "(models/faces/synthmask.py)"
    ),
)
@click.option("--mask-seed", default=0, show_default=True, type=int, help="Seed of the mask colours")
@click.option(
    "--save-masked",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the masked probes here (<identity>/<name>.png) for a look",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout")
def eval_faces(
    data: Path,
    enroll: int,
    backend: str | None,
    masked_probes: bool,
    mask_seed: int,
    save_masked: Path | None,
    as_json: bool,
) -> None:
    """Identification (rank-1), verification (TAR at FAR 1e-3) and the door's decisions (identified_share and
    wrong_identities at its operating thresholds) through the door's own detector, embedder and mask classifier."""
    from kuzet.eval import faces

    if save_masked is not None and not masked_probes:
        raise click.UsageError("--save-masked needs --masked-probes")
    masking = faces.Masking(mask_seed, save_masked) if masked_probes else None
    _report(evaluate_or_exit(lambda: faces.run(data, enroll, backend, progress, masking)), as_json)


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
