"""``kuzet loadtest``: a morning of school doors and a traffic mix against the city setup and one SQLite process."""

from __future__ import annotations

import json
from pathlib import Path

import click

COMMANDS: list[click.Command] = []


@click.command("loadtest")
@click.option("--out", type=click.Path(path_type=Path), default=Path("var/loadtest"), help="Report and plots.")
@click.option("--rate", type=click.FloatRange(1, 100_000), default=4000.0, help="Planned events/s.")
@click.option("--duration", type=click.FloatRange(1, 3600), default=60.0, help="Seconds of planned load.")
@click.option("--doors", type=click.IntRange(1, 100_000), default=7500, help="School doors (one school each).")
@click.option("--pupils-per-door", type=click.IntRange(1, 1000), default=8, help="Pupils passing each door.")
@click.option("--traffic-share", type=click.FloatRange(0, 1), default=0.15, help="Share of vehicle events.")
@click.option("--targets", default="city,sqlite", help="Comma-separated: city, sqlite.")
@click.option("--faults/--no-faults", default=True, help="After the load, the city's API SIGKILL run (5,000 events).")
@click.option("--floor", is_flag=True, help="Instead: the least CPU per event any code needs here (floor.json).")
def loadtest(
    out: Path, rate: float, duration: float, doors: int, pupils_per_door: int, traffic_share: float, targets: str,
    faults: bool, floor: bool,
) -> None:  # fmt: skip
    """Run the load against each target, write report.json and PNG plots to OUT, print the figures."""
    if floor:
        _floor(out, rate, 1 - traffic_share)
        return
    from kuzet.city.loadgen import LoadPlan
    from kuzet.city.loadtest import run
    from kuzet.city.postgres import PostgresMissingError
    from kuzet.commands.common import fail

    chosen = tuple(t.strip() for t in targets.split(",") if t.strip())
    if not chosen or set(chosen) - {"city", "sqlite"}:
        fail(f"--targets must name city and/or sqlite, not {targets!r}")
    plan = LoadPlan(rate=rate, duration_s=duration, doors=doors, pupils_per_door=pupils_per_door,
                    traffic_share=traffic_share)  # fmt: skip
    try:
        report = run(out, plan, chosen, faults)
    except PostgresMissingError as exc:
        fail(f"kuzet loadtest: {exc}")
    click.echo(json.dumps(report, indent=2))
    click.echo(f"report {out / 'report.json'}, plots {out / 'throughput.png'} and {out / 'latency.png'}", err=True)


def _floor(out: Path, rate: float, entry_share: float) -> None:
    from kuzet.city.floor import run as run_floor
    from kuzet.city.postgres import PostgresMissingError
    from kuzet.commands.common import fail

    try:
        report = run_floor(out.resolve(), rate, entry_share)
    except PostgresMissingError as exc:
        fail(f"kuzet loadtest --floor: {exc}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "floor.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    click.echo(json.dumps(report, indent=2))
    click.echo(f"report {out / 'floor.json'}", err=True)


COMMANDS.append(loadtest)
