"""Notifications: ``kuzet notify`` runs the outbox worker; ``demo_notifications`` is the demo hook."""

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


def demo_notifications(work_dir: Path) -> list[str]:
    """Render a sample entry in kk/ru/en, queue it and deliver it through a local SMTP server.

    Runs offline in about a second; returns summary lines for ``kuzet demo``.
    """
    import socket
    import time
    from datetime import UTC, datetime

    from aiosmtpd.controller import Controller

    from backend.db import connect, connector, migrate, transaction
    from notifications import outbox
    from notifications.channels.smtp import SmtpChannel
    from notifications.config import SmtpConfig, WorkerConfig
    from notifications.templates import render
    from notifications.worker import OutboxWorker

    class Inbox:
        def __init__(self) -> None:
            self.count = 0

        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
            self.count += 1
            return "250 accepted"

    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / f"notify-demo-{int(time.time() * 1000)}.sqlite"
    db = connect(path)
    migrate(db)
    when = datetime(2026, 9, 1, 2, 52, tzinfo=UTC)
    lines = []
    with transaction(db) as conn:
        for language in ("kk", "ru", "en"):
            subject, body = render("entered", language, name="Aruzhan", time=when)
            outbox.enqueue(
                conn,
                channel="email",
                recipient=f"guardian-{language}@example.kz",
                subject=subject,
                body=body,
                dedupe_key=f"demo:{language}",
                school_id="demo",
                kind="entered",
                language=language,
            )
            lines.append(f"notify: parent message [{language}] {body}")
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        channel = SmtpChannel(SmtpConfig(host="127.0.0.1", port=port, sender="kuzet@example.kz", starttls=False))
        worker = OutboxWorker(connector(path), {"email": channel}, WorkerConfig())
        worker.run_once()
        worker.close()
    finally:
        controller.stop()
    lines.append(
        f"notify: {outbox.counts(db.conn)['sent']} of 3 delivered to a local SMTP server ({inbox.count} received)"
    )
    db.conn.close()
    return lines


COMMANDS.append(notify)
