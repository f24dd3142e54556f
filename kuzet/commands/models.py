"""Model tools: ``kuzet quantize`` builds the int8 models a config selects with ``precision: int8``.

Thin over ``models.quantize``: each model is calibrated on the bundled samples (and, with ``--data``, the training
side of the shared data's mask split) and written with its manifest (source SHA-256, calibration set) to ``--out``
(default ``$KUZET_MODEL_CACHE`` or ``var/models``, git-ignored). Models do not build themselves on demand: a
quantisation takes tens of seconds of CPU and reads calibration media, which a device booting its agent should not
do behind the operator's back, so a missing int8 file is a one-line error naming this command.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from kuzet.commands.common import fail

COMMANDS: list[click.Command] = []
NAMES = ("yolov8n", "platedet", "centerface", "sface")


@click.command("quantize")
@click.option(
    "--model", "name", type=click.Choice([*NAMES, "all"]), default="all", show_default=True, help="Model to build"
)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Output folder (default: var/models)")
@click.option("--frames", type=click.IntRange(2, 500), default=48, show_default=True, help="Calibration inputs")
@click.option(
    "--format", "fmt", type=click.Choice(["qdq", "qoperator"]), default="qdq", show_default=True, help="int8 form"
)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=lambda: os.environ.get("KUZET_DATA", "../shared/data"),
    help="Shared data (its training splits join the calibration when present)",
)
def quantize(name: str, out: Path | None, frames: int, fmt: str, data: Path) -> None:
    """Build int8 models by static quantisation (per channel) and print their manifests."""
    import json

    from models.quantize import QUANTISABLE, quantise_model
    from models.runtime import MANIFEST_SUFFIX, ModelError

    chosen = list(QUANTISABLE) if name == "all" else [name]
    for model in chosen:
        try:
            path = quantise_model(
                model, out, frames, data if data.is_dir() else None, "qoperator" if fmt == "qoperator" else "qdq"
            )
        except ModelError as exc:
            fail(str(exc))
        manifest = json.loads(path.with_name(f"{model}{MANIFEST_SUFFIX}").read_text(encoding="utf-8"))
        click.echo(f"{model}: {path} ({manifest['calibration']['inputs']} calibration inputs, {manifest['seconds']} s)")


COMMANDS.append(quantize)
