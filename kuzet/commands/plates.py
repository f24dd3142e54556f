"""Plate commands: ``kuzet eval plates`` (OCR on crops) and ``kuzet eval scenes`` (detection + OCR on photos), thin
over ``kuzet.eval.plates`` and ``kuzet.eval.scenes``.

Both follow ../shared/EVAL.md: progress on stderr, ``--json`` prints one JSON object as the last stdout line, exit 2
with one line when the folder lacks the layout, unreadable images counted (as errors) and never a crash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kuzet.commands import eval_group
from kuzet.commands.camera import devset_group
from kuzet.commands.common import emit_json, evaluate_or_exit, fail, progress

COMMANDS: list[click.Command] = []

REGIONS = ("any", "kz")  # plate grammars: any (the eval default) or the Kazakhstan grammar


@eval_group.command("plates")
@click.option("--data", "data", type=click.Path(path_type=Path), required=True, help="Folder with labels.csv")
@click.option("--region", type=click.Choice(REGIONS), default="any", show_default=True, help="Plate grammar")
@click.option("--batch", type=click.IntRange(1, 256), default=16, show_default=True, help="Crops per inference")
@click.option("--threads", type=click.IntRange(1, 16), default=2, show_default=True, help="onnxruntime threads")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last stdout line")
def eval_plates(data: Path, region: str, batch: int, threads: int, as_json: bool) -> None:
    """OCR accuracy on plate crops: labels.csv with image,plate."""
    from kuzet.eval import plates

    _report(evaluate_or_exit(lambda: plates.run(data, region, batch, threads, progress)), as_json)


@eval_group.command("scenes")
@click.option("--data", "data", type=click.Path(path_type=Path), required=True, help="Folder with labels.csv")
@click.option("--region", type=click.Choice(REGIONS), default="any", show_default=True, help="Plate grammar")
@click.option(
    "--detector",
    type=click.Choice(["platedet", "cascade", "both"]),
    default="both",
    show_default=True,
    help="Plate detector backend (both = union of the two, boxes merged by NMS)",
)
@click.option("--threads", type=click.IntRange(1, 16), default=2, show_default=True, help="onnxruntime threads")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last stdout line")
def eval_scenes(data: Path, region: str, detector: str, threads: int, as_json: bool) -> None:
    """Plate detection + OCR on full photos: labels.csv with image,x1,y1,x2,y2,plate (one labelled plate each)."""
    from kuzet.eval import scenes

    _report(evaluate_or_exit(lambda: scenes.run(data, region, detector, threads, progress)), as_json)


@eval_group.command("plate-band")
@click.option(
    "--data",
    "sources",
    multiple=True,
    required=True,
    metavar="NAME=DIR",
    help="A source folder of plate crops (labels.csv image,plate); give two or more",
)
@click.option("--threads", type=click.IntRange(1, 16), default=2, show_default=True, help="onnxruntime threads")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last stdout line")
def eval_plate_band(sources: tuple[str, ...], threads: int, as_json: bool) -> None:
    """Choose the band variant's rows leave-one-source-out and report each held-out source."""
    from kuzet.eval import plate_band

    folders: dict[str, Path] = {}
    for source in sources:
        name, sep, path = source.partition("=")
        if not sep or not name or not path or name in folders:
            fail(f"--data takes NAME=DIR with a distinct NAME per folder, got {source!r}")
        folders[name] = Path(path)
    if len(folders) < 2:
        fail("leave-one-source-out needs at least two --data NAME=DIR folders")
    result = evaluate_or_exit(lambda: plate_band.run(folders, threads=threads, progress=progress))
    if as_json:
        emit_json(result)
        return
    for row in result["held_out"]:
        click.echo(
            f"held out {row['held_out']}: chosen on the others {row['chosen']} -> exact {row['exact']:.3f}"
            f" (no band {row['without_band']:.3f}; best there {row['best_there']} {row['best_exact']:.3f})"
        )
    click.echo(f"shipped band {result['shipped']}: {result['shipped_exact']}")


@devset_group.command("plates")
@click.option(
    "--from",
    "benchmark",
    type=click.Path(path_type=Path),
    required=True,
    help="A checkout of github.com/openalpr/benchmarks (its endtoend/<country>/ photos and .txt labels)",
)
@click.option("--out", type=click.Path(path_type=Path), default=Path("var/devsets/plates"), help="Output folder")
@click.option("--country", "countries", multiple=True, help="Country folder to cut (repeatable; default: all)")
@click.option(
    "--margin",
    type=click.FloatRange(0.0, 1.0),
    default=0.10,
    show_default=True,
    help="Crop margin on every side, as a fraction of the plate's width and height",
)
def devset_plates(benchmark: Path, out: Path, countries: tuple[str, ...], margin: float) -> None:
    """Held-out plate crops and scenes (EVAL.md layouts) per country, for `kuzet eval plates|scenes`."""
    from kuzet.devsets.plates import BenchmarkLayoutError, build

    try:
        reports = build(benchmark, out, list(countries) or None, margin, progress)
    except BenchmarkLayoutError as exc:
        fail(str(exc))
    for report in reports:
        click.echo(
            f"devset {out}/{report.country}_crops and _scenes: {report.written} plates"
            f"{', skipped ' + str(report.skipped) if report.skipped else ''}"
        )


def _report(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(result)
    else:
        for key, value in result.items():
            click.echo(f"{key}: {value}")
