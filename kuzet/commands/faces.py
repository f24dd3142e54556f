"""Commands of this product area; they attach to the groups in ``kuzet.commands`` and are listed in COMMANDS."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
