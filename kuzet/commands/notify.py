"""Notifications: ``kuzet notify`` runs the outbox worker."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from kuzet.commands.common import emit_json, fail, load_or_exit, progress

COMMANDS: list[click.Command] = []


@click.command("notify")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True, help="Backend YAML.")
@click.option("--once", is_flag=True, help="Deliver what is due now, print a JSON summary and exit.")
def notify(config_path: Path, once: bool) -> None:
    """Deliver the notification outbox (e-mail, Telegram, SMS, police webhook) until interrupted."""
    from backend.db import connect, connector, migrate
    from backend.settings import Settings
    from notifications import outbox
    from notifications.channels import build_channels
    from notifications.worker import OutboxWorker

    settings = load_or_exit(config_path, Settings)
    channels = build_channels(settings.notifications)
    if not channels:
        fail(f"{config_path}: no channel configured; add notifications.smtp, .telegram, .sms or .police")
    db = connect(settings.database, settings.busy_timeout_ms)
    migrate(db)
    worker = OutboxWorker(
        connector(settings.database, settings.busy_timeout_ms), channels, settings.notifications.worker
    )
    try:
        if once:
            claimed = 0
            while batch := worker.run_once():
                claimed += batch
            emit_json({"processed": claimed, **outbox.counts(db.conn)})
            return
        progress(f"notify: delivering {sorted(channels)} from {settings.database}")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            worker.run(stop)
        except KeyboardInterrupt:
            stop.set()
    finally:
        worker.close()
        db.conn.close()


COMMANDS.append(notify)
