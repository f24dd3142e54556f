"""``kuzet demo``: the whole job on the bundled samples, on loopback, offline.

The backend starts on a fresh SQLite file with a demo school (``seed``); the school door agent enrols the sample
people and runs the bundled clip with its thermal replay (``school``); the traffic agent runs the bundled street clip
(``traffic``); violation evidence is built, signed and verified (``violations``); every event goes through the device
spools and uplinks; parents get their messages through a local SMTP server; an operator confirms a violation and the
local police receiver gets one signed webhook (``review``). Every stage is the production code on real media; the
only stand-ins are the mail server and the police system (``support``). Nothing but the command line imports this.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

import click

from backend.db import connect
from backend.settings import Settings
from kuzet.demo.seed import seed_demo_school
from kuzet.demo.stages import fresh_dir, local_notifications, run_stages
from kuzet.demo.support import SAMPLES, SCHOOL_ID, BackendThread, DemoBackend, PoliceReceiver, SmtpInbox, free_port

__all__ = ["run"]


def _settings(work_dir: Path, inbox: SmtpInbox, police: PoliceReceiver, secret: str) -> Settings:
    return Settings.model_validate(
        {
            "database": work_dir / "backend.sqlite",
            "media_dir": work_dir / "media",
            "admin_token": secrets.token_hex(24),
            "template_key": base64.b64encode(os.urandom(32)).decode(),
            "port": free_port(),
            "notifications": {**local_notifications(inbox, police, secret), "run_in_backend": True},
        }
    )


def run(work_dir: Path) -> int:
    """Run every stage in ``work_dir`` (emptied first) and print the summary; returns the exit code."""
    fresh_dir(work_dir)
    secret = secrets.token_hex(24)
    inbox, police = SmtpInbox().start(), PoliceReceiver(secret).start()
    settings = _settings(work_dir, inbox, police, secret)
    seeded = seed_demo_school(
        settings.database, SAMPLES / "school" / "people", SCHOOL_ID, template_key=settings.template_key_bytes
    )
    backend = BackendThread(settings).start()
    api = DemoBackend(backend, settings.admin_token, work_dir)
    click.echo(f"backend {backend.url} on {settings.database}")
    for line in seeded:
        click.echo(f"  {line}")
    try:
        run_stages(api, settings, inbox, police)
    finally:
        backend.stop()
        inbox.stop()
        police.stop()
    return _summary(settings)


def _summary(settings: Settings) -> int:
    """What the backend stored, per event kind and camera, and its attachments (plain read-only SQL)."""
    db = connect(settings.database)
    try:
        rows = db.execute("SELECT kind, camera_id, COUNT(*) FROM events GROUP BY kind, camera_id").fetchall()
        media = db.execute("SELECT COUNT(*), COALESCE(SUM(size_bytes), 0) FROM media").fetchone()
    finally:
        db.conn.close()
    click.echo("== stored in the backend")
    for kind, camera, count in rows:
        click.echo(f"  {count:4d} {kind} events from {camera}")
    click.echo(f"  {media[0]} attachments, {media[1] / 1e6:.1f} MB")
    return 0 if rows else 1
