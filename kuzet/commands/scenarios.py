"""Traffic scenarios: ``kuzet eval violations``, ``kuzet eval speed`` (thin over ``kuzet.eval.violations`` and
``kuzet.eval.speed``) and ``kuzet devset traffic`` (over ``kuzet.devsets.traffic``)."""

from __future__ import annotations

from pathlib import Path

import click

from kuzet.commands import eval_group
from kuzet.commands.camera import devset_group
from kuzet.commands.common import emit_json, evaluate_or_exit, progress


@eval_group.command("violations")
@click.option("--data", "data", type=click.Path(path_type=Path), required=True, help="Folder of *.json scenarios")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout")
def eval_violations(data: Path, as_json: bool) -> None:
    """Traffic rules on scenario files (kuzet-scenario/1), scored against their truth."""
    from kuzet.eval import violations

    result = evaluate_or_exit(lambda: violations.run(data, progress))
    if as_json:
        emit_json(result)
        return
    click.echo(
        f"scenarios={result['scenarios']} required={result['required']} found={result['found']}"
        f" missed={result['missed']} false={result['false']} duplicates={result['duplicates']}"
        f" precision={result['precision']} recall={result['recall']} ms/scenario={result['ms_per_scenario']}"
    )
    for kind, row in result["by_kind"].items():
        click.echo(f"  {kind}: {row}")


@eval_group.command("speed")
@click.option("--data", "data", type=click.Path(path_type=Path), required=True, help="Folder of *.json scenarios")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout")
def eval_speed(data: Path, as_json: bool) -> None:
    """Track speeds on scenario files against the true constant speeds."""
    from kuzet.eval import speed

    result = evaluate_or_exit(lambda: speed.run(data, progress))
    if as_json:
        emit_json(result)
        return
    click.echo(
        f"vehicles={result['vehicles']} measured={result['measured']} mae={result['mae_kmh']} km/h"
        f" max={result['max_abs_err_kmh']} km/h coverage_2sigma={result['coverage_2sigma']}"
        f" mean_sigma={result['mean_sigma_kmh']} km/h"
    )


DEV_COUNT = 1100  # dev scenarios: about 500 required violations over every kind and noise
ACCEPTANCE_COUNT = 200  # per acceptance set, as issue 12 states its sets


def scenario_count(plan: str, count: int | None) -> int:
    """``--count`` as given, else the plan's default (per set for acceptance)."""
    if count is not None:
        return count
    return ACCEPTANCE_COUNT if plan == "acceptance" else DEV_COUNT


@devset_group.command("traffic")
@click.option("--out", type=click.Path(path_type=Path), default=Path("var/devsets/traffic"), help="Output folder")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=12, help="Random seed (12 dev, 31 held out)")
@click.option(
    "--count",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Scenarios (per set for acceptance); default 1100 for dev, the issue's 200 per set for acceptance",
)
@click.option(
    "--plan",
    type=click.Choice(["dev", "acceptance"]),
    default="dev",
    help="dev: every kind and noise; acceptance: the issue's stopped/beside-solid/at-limit sets",
)
def devset_traffic(out: Path, seed: int, count: int | None, plan: str) -> None:
    """Generated traffic scenarios (EVAL.md format) for `kuzet eval violations` and `kuzet eval speed`."""
    from kuzet.devsets import traffic

    written = traffic.generate(out, seed, scenario_count(plan, count), plan, progress)
    click.echo(f"devset {out}: {written} scenarios (seed {seed}, plan {plan})")


COMMANDS: list[click.Command] = []
