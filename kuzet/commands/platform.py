"""Platform commands: serve the backend, register devices, run a device's uplink."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kuzet.commands import edge_group
from kuzet.commands.common import fail, load_or_exit

COMMANDS: list[click.Command] = []


@click.command("serve")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True, help="Backend YAML.")
@click.option("--port", type=int, default=None, help="Override the port of the settings file.")
def serve(config_path: Path, port: int | None) -> None:
    """Run the backend with uvicorn."""
    import uvicorn

    from backend.app import create_app
    from backend.settings import Settings

    settings = load_or_exit(config_path, Settings)
    app = database_or_exit(settings, lambda: create_app(settings))
    uvicorn.run(app, host=settings.host, port=port or settings.port, log_level="warning")


@click.command("migrate")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True, help="Backend YAML.")
def migrate(config_path: Path) -> None:
    """Apply the pending database migrations (SQLite file or PostgreSQL) and print the schema version."""
    from backend.db import close_pools, connect
    from backend.db import migrate as apply_migrations
    from backend.settings import Settings
    from backend.store import system

    settings = load_or_exit(config_path, Settings)

    def run() -> tuple[list[int], int]:
        db = connect(settings.database, settings.busy_timeout_ms)
        try:
            return apply_migrations(db), system.schema_version(db.conn)
        finally:
            db.conn.close()
            close_pools()

    applied, version = database_or_exit(settings, run)
    click.echo(json.dumps({"database": str(settings.database), "applied": applied, "schema_version": version}))


T = TypeVar("T")


def database_or_exit(settings: Any, work: Callable[[], T]) -> T:
    """Run ``work``; a database that cannot be opened exits 2 with one line naming ``database.url`` (password
    masked)."""
    import sqlite3

    try:
        return work()
    except sqlite3.OperationalError as exc:
        reason = str(exc).replace(settings.database.url, settings.database.masked_url).splitlines()[0]
        fail(f"setting 'database.url' ({settings.database.masked_url}): cannot open the database: {reason}")
    except Exception as exc:  # the broker or the object store named in the settings does not answer as it should
        from kuzet.city.errors import service_failure

        named = service_failure(settings, exc)
        if named is None:
            raise
        fail(named)


@click.command("register-device")
@click.option("--backend", "backend_url", required=True, help="Backend base URL, e.g. http://127.0.0.1:8000")
@click.option("--admin-token", envvar="KUZET_ADMIN_TOKEN", required=True, help="Admin token (or KUZET_ADMIN_TOKEN).")
@click.option("--camera-id", required=True, help="Id of the camera to register.")
@click.option("--kind", type=click.Choice(["school", "traffic"]), required=True, help="Product the camera serves.")
@click.option("--site", required=True, help="School id or traffic district.")
@click.option("--rotate", is_flag=True, help="Issue a new key for an existing camera.")
@click.option(
    "--evidence-key", default=None, help="Traffic cameras: the evidence key (hex or the device's .ed25519.pub file)."
)
def register_device(
    backend_url: str, admin_token: str, camera_id: str, kind: str, site: str, rotate: bool, evidence_key: str | None
) -> None:
    """Register a camera (a traffic camera with its evidence signing key) and print its API key (shown once)."""
    import httpx

    from kuzet.commands.violations import read_trusted_key

    body = {"camera_id": camera_id, "kind": kind, "site": site, "rotate": rotate}
    if evidence_key is not None:
        body["evidence_public_key"] = read_trusted_key(evidence_key)
    try:
        response = httpx.post(
            f"{backend_url.rstrip('/')}/api/v1/devices",
            json=body,
            headers={"Authorization": f"Bearer {admin_token}"},
        )
    except httpx.HTTPError as exc:
        fail(f"cannot reach {backend_url}: {exc}")
    if response.status_code != 201:
        fail(f"registration refused ({response.status_code}): {response.json().get('detail', response.text)}")
    click.echo(json.dumps(response.json(), indent=2))


@edge_group.command("uplink")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True, help="Device YAML.")
def uplink(config_path: Path) -> None:
    """Drain a device's spool to the backend until interrupted, serving /health."""
    from edge.config import DeviceConfig
    from edge.health import HealthServer, health_report
    from edge.spool import Spool
    from edge.uplink import Uploader

    config = load_or_exit(config_path, DeviceConfig)
    spool = Spool(config.spool.path, config.spool.max_events)
    uploader = Uploader(spool, config.uplink)
    health = HealthServer(
        config.health.host,
        config.health.port,
        lambda: health_report(config.camera_id, spool, uploader.status),
    ).start()
    click.echo(f"uplink for {config.camera_id}: spool {config.spool.path}, health {health.url}/health", err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        uploader.run(stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        health.stop()
        uploader.close()
        spool.close()


COMMANDS.extend([serve, migrate, register_device])
