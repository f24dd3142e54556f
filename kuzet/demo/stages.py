"""What ``kuzet demo`` and ``kuzet demo --city`` share: a fresh work folder, the local notification settings and the
four stages of the job, each printed with its lines and how long it took."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from backend.settings import Settings
from kuzet.demo import review, school, traffic, violations
from kuzet.demo.support import SAMPLES, DemoBackend, PoliceReceiver, SmtpInbox


def fresh_dir(work_dir: Path) -> None:
    """Empty ``work_dir`` (a demo starts from nothing) and create it."""
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)


def local_notifications(inbox: SmtpInbox, police: PoliceReceiver, secret: str) -> dict[str, Any]:
    """The ``notifications`` settings delivering to the demo's own SMTP inbox and police receiver."""
    return {
        "smtp": {"host": "127.0.0.1", "port": inbox.port, "sender": "kuzet@demo.kz", "starttls": False},
        "police": {"url": police.url, "signing": "hmac-sha256", "secret": secret},
        "worker": {"poll_interval_s": 0.1},
    }


def run_stages(api: DemoBackend, settings: Settings, inbox: SmtpInbox, police: PoliceReceiver) -> None:
    """School entry, traffic, violations and evidence, operator review and police: each stage's lines and time."""
    stages: list[tuple[str, Callable[[], list[str]]]] = [
        ("school entry", lambda: school.stage(api, settings, inbox, SAMPLES)),
        ("traffic", lambda: traffic.stage(api, SAMPLES)),
        ("violations and evidence", lambda: violations.stage(api)),
        ("operator review and police", lambda: review.stage(api, police)),
    ]
    for name, stage in stages:
        click.echo(f"== {name}")
        started = time.monotonic()
        for line in stage():
            click.echo(f"  {line}")
        click.echo(f"  ({time.monotonic() - started:.1f} s)")
