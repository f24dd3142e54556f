"""Helpers shared by commands: one-line errors with exit code 2, config loading, evaluations, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from pydantic import BaseModel

from kuzet.config import ConfigFileError, load_config

T = TypeVar("T", bound=BaseModel)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one line saying what to fix to stderr and exit with ``code``."""
    click.echo(f"kuzet: {message}", err=True)
    sys.exit(code)


def load_or_exit(path: Path, model: type[T]) -> T:
    """Load a YAML config or exit 2 with one line naming the field."""
    try:
        return load_config(path, model)
    except ConfigFileError as exc:
        fail(str(exc))


def emit_json(result: dict[str, Any]) -> None:
    """Print a result as one JSON object on the last line of stdout."""
    click.echo(json.dumps(result, sort_keys=True, default=str))


def progress(message: str) -> None:
    """Progress for long work goes to stderr, so stdout stays machine-readable."""
    click.echo(message, err=True)


def evaluate_or_exit(run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run an evaluation of ``kuzet.eval``; a folder without the layout exits 2 with its one line."""
    from kuzet.eval.common import LayoutError

    try:
        return run()
    except LayoutError as exc:
        fail(str(exc))
