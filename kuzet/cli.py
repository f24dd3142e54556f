"""The ``kuzet`` command line. Heavy imports live inside each command so ``kuzet --help`` stays fast.

The product areas' commands are in ``kuzet.commands`` (the evaluations they run are in ``kuzet.eval``); ``kuzet demo``
runs ``kuzet.demo``. Nothing but tests imports this layer.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from kuzet.commands import (
    camera,
    edge_group,
    eval_group,
    faces,
    gallery,
    loadtest,
    models,
    notify,
    plates,
    platform,
    scenarios,
    school,
    traffic,
    violations,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Kuzet: edge services for school-entry and traffic cameras."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command("demo")
@click.option("--work-dir", type=click.Path(path_type=Path), default=None, help="Scratch folder (var/demo, var/city).")
@click.option("--city", is_flag=True, help="On PostgreSQL, NATS JetStream and S3, two API processes, two workers.")
def demo(work_dir: Path | None, city: bool) -> None:
    """Run the main job on the bundled samples and print a summary."""
    if city:
        from kuzet.demo.city import run as run_city

        raise SystemExit(run_city(work_dir or Path("var/city")))
    from kuzet.demo import run

    raise SystemExit(run(work_dir or Path("var/demo")))


main.add_command(eval_group)
main.add_command(edge_group)
for module in (platform, faces, school, gallery, traffic, plates, violations, notify, camera, models, scenarios):
    for command in module.COMMANDS:
        main.add_command(command)
main.add_command(loadtest.loadtest)
