"""Command-line groups; each product area adds its commands in its own module, wired in ``kuzet.cli``."""

from __future__ import annotations

import click


@click.group("eval")
def eval_group() -> None:
    """Measure accuracy on a folder of real data (contract: ../shared/EVAL.md)."""


@click.group("edge")
def edge_group() -> None:
    """Run an edge agent on a device."""
