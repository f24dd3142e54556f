"""Platform commands: serve the backend, register devices, run the uplink, the demo."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
