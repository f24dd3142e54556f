"""Notifications: ``kuzet notify`` runs the outbox worker."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

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
            if settings.broker.url is None:
                worker.run(stop)
            else:  # the vehicle aggregator; with broker.outbox_fanout the relay and fan-out worker replace polling
                _with_broker(settings, channels, worker, stop)
        except KeyboardInterrupt:
            stop.set()
    finally:
        worker.close()
        db.conn.close()


def _with_broker(settings: Any, channels: dict[str, Any], worker: Any, stop: threading.Event) -> None:
    """Run the broker's workers (and the polling worker unless the outbox is fanned out) until ``stop``."""
    from backend.broker.runner import run_broker_workers

    progress(f"notify: broker {settings.broker.safe_url}, outbox fan-out {settings.broker.outbox_fanout}")
    if settings.broker.outbox_fanout:
        run_broker_workers(settings, channels, stop)
        return
    polling = threading.Thread(target=worker.run, args=(stop,), name="outbox", daemon=True)
    polling.start()
    try:
        run_broker_workers(settings, channels, stop)
    finally:
        stop.set()
        polling.join(30)


COMMANDS.append(notify)
