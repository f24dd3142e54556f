"""``kuzet demo``: the whole job on the bundled samples, on loopback, offline.

The backend starts on a fresh SQLite file with a demo school; the school door agent enrols the sample people and runs
the bundled clip with its thermal replay; the traffic agent runs the bundled street clip; violation evidence is built,
signed and verified; every event goes through the device spools and uplinks; parents get their messages through a
local SMTP server; an operator confirms a violation and the local police receiver gets one signed webhook. Every stage
is the production code on real media; the only stand-ins are the mail server and the police system.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import click
import httpx

from backend.db import connect
from backend.settings import Settings
from edge.config import UplinkConfig
from edge.spool import Spool
from edge.uplink import Uploader
from kuzet.demo_support import BackendThread, PoliceReceiver, SmtpInbox, free_port

logger = logging.getLogger(__name__)
SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SCHOOL_ID = "demo-school"
DISTRICT = "demo-district"


class DemoBackend:
    """The running backend plus how devices talk to it."""

    def __init__(self, backend: BackendThread, admin_token: str, work_dir: Path) -> None:
        self.backend = backend
        self.admin = {"Authorization": f"Bearer {admin_token}"}
        self.work_dir = work_dir
        self.keys: dict[str, str] = {}

    def device(self, camera_id: str, kind: str, site: str) -> tuple[Spool, UplinkConfig]:
        """Register a camera through the real API (once) and open its on-device spool."""
        if camera_id not in self.keys:
            response = httpx.post(
                f"{self.backend.url}/api/v1/devices",
                json={"camera_id": camera_id, "kind": kind, "site": site},
                headers=self.admin,
            )
            response.raise_for_status()
            self.keys[camera_id] = str(response.json()["api_key"])
        spool = Spool(self.work_dir / "edge" / camera_id / "spool.sqlite")
        uplink = UplinkConfig.model_validate({"backend_url": self.backend.url, "api_key": self.keys[camera_id]})
        return spool, uplink


def drain(spool: Spool, uplink: UplinkConfig, timeout_s: float = 60.0) -> int:
    """Upload everything in the spool through the real uploader; returns how many events were sent."""
    uploader = Uploader(spool, uplink)
    sent, deadline = 0, time.monotonic() + timeout_s
    try:
        while spool.depth() and time.monotonic() < deadline:
            sent += uploader.drain_once()
    finally:
        uploader.close()
        spool.close()
    return sent


def wait_for(predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Poll until ``predicate`` holds or the time is up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _outbox_pending(db_path: Path) -> int:
    db = connect(db_path)
    try:
        row = db.execute("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')").fetchone()
    finally:
        db.conn.close()
    return int(row[0])


def school_stage(api: DemoBackend, settings: Settings, inbox: SmtpInbox) -> list[str]:
    """Door agent on the bundled clip -> spool -> backend attendance -> parent messages over SMTP."""
    from backend.services.demo_school import demo_messages
    from kuzet.commands.school import DEMO_CAMERA, demo_school

    spool, uplink = api.device(DEMO_CAMERA, "school", SCHOOL_ID)
    lines = demo_school(SAMPLES, spool, api.work_dir / "school")
    lines.append(f"uplink {DEMO_CAMERA}: {drain(spool, uplink)} events sent")
    wait_for(lambda: _outbox_pending(settings.database) == 0, 30)
    lines += demo_messages(settings.database, SCHOOL_ID)
    lines.append(f"local SMTP server received {len(inbox.messages)} messages")
    return lines


def traffic_stage(api: DemoBackend) -> list[str]:
    """Traffic agent on the bundled street clip -> vehicle events."""
    from edge.traffic.config import TrafficDeviceConfig
    from kuzet.commands.common import load_or_exit
    from kuzet.commands.traffic import DEMO_CONFIG, demo_traffic

    camera_id = load_or_exit(SAMPLES / DEMO_CONFIG, TrafficDeviceConfig).camera_id
    spool, uplink = api.device(camera_id, "traffic", DISTRICT)
    lines = demo_traffic(SAMPLES, spool, api.work_dir / "traffic")
    lines.append(f"uplink {camera_id}: {drain(spool, uplink)} events sent")
    return lines


def violations_stage(api: DemoBackend) -> list[str]:
    """The rendered junction (signal read by the light classifier) -> a verified package -> a violation event.

    The street clip's violations already came from the traffic stage, in the same pass as its vehicle events.
    """
    from edge.traffic.evidence_verify import list_packages, violation_event
    from kuzet.commands.violations import demo_violations

    work = api.work_dir / "violations"
    lines = demo_violations(SAMPLES, work)
    for chain in sorted(p for p in (work / "evidence").iterdir() if p.is_dir()):
        spool, uplink = api.device(chain.name, "traffic", DISTRICT)
        for package in list_packages(chain):
            event, media = violation_event(package)
            spool.put(event, media)
        lines.append(f"uplink {chain.name}: {drain(spool, uplink)} violation events sent with their evidence")
    return lines


def review_stage(api: DemoBackend, police: PoliceReceiver) -> list[str]:
    """An operator of the district confirms the first queued violation; the police receive one signed webhook."""
    url = api.backend.url
    password = secrets.token_urlsafe(12)
    body = {"username": "demo-operator", "password": password, "district": DISTRICT}
    httpx.post(f"{url}/api/v1/operators", json=body, headers=api.admin).raise_for_status()
    login = httpx.post(f"{url}/api/v1/operators/login", json={"username": "demo-operator", "password": password})
    login.raise_for_status()
    operator = {"Authorization": f"Bearer {login.json()['token']}"}
    queue = httpx.get(f"{url}/api/v1/violations", headers=operator).json()
    items = queue if isinstance(queue, list) else queue["items"]
    lines = [f"review: {len(items)} violations queued for {DISTRICT}; operator login demo-operator / {password}"]
    if not items:
        return lines
    first = items[0]
    confirm = f"{url}/api/v1/violations/{first['violation_id']}/confirm"
    httpx.post(confirm, json={"note": "demo"}, headers=operator).raise_for_status()
    wait_for(lambda: len(police.received) >= 1, 30)
    lines.append(
        f"review: confirmed {first['kind']} by {first['camera_id']} ({first['evidence_status']} evidence); police got "
        f"{len(police.received)} signed webhook(s), {len(police.rejected)} with a bad signature"
    )
    return lines


def _settings(work_dir: Path, inbox: SmtpInbox, police: PoliceReceiver, secret: str) -> Settings:
    return Settings.model_validate(
        {
            "database": work_dir / "backend.sqlite",
            "media_dir": work_dir / "media",
            "admin_token": secrets.token_hex(24),
            "template_key": base64.b64encode(os.urandom(32)).decode(),
            "port": free_port(),
            "notifications": {
                "smtp": {"host": "127.0.0.1", "port": inbox.port, "sender": "kuzet@demo.kz", "starttls": False},
                "police": {"url": police.url, "signing": "hmac-sha256", "secret": secret},
                "run_in_backend": True,
                "worker": {"poll_interval_s": 0.1},
            },
        }
    )


def run_demo(work_dir: Path) -> int:
    """Run every stage and print the summary; returns the exit code."""
    from backend.services.demo_school import seed_demo_school

    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    secret = secrets.token_hex(24)
    inbox, police = SmtpInbox().start(), PoliceReceiver(secret).start()
    settings = _settings(work_dir, inbox, police, secret)
    seeded = seed_demo_school(
        settings.database, SAMPLES / "school" / "people", SCHOOL_ID, template_key=settings.template_key_bytes
    )
    backend = BackendThread(settings).start()
    api = DemoBackend(backend, settings.admin_token, work_dir)
    stages: list[tuple[str, Callable[[], list[str]]]] = [
        ("school entry", lambda: school_stage(api, settings, inbox)),
        ("traffic", lambda: traffic_stage(api)),
        ("violations and evidence", lambda: violations_stage(api)),
        ("operator review and police", lambda: review_stage(api, police)),
    ]
    click.echo(f"backend {backend.url} on {settings.database}")
    for line in seeded:
        click.echo(f"  {line}")
    try:
        for name, stage in stages:
            click.echo(f"== {name}")
            started = time.monotonic()
            for line in stage():
                click.echo(f"  {line}")
            click.echo(f"  ({time.monotonic() - started:.1f} s)")
    finally:
        backend.stop()
        inbox.stop()
        police.stop()
    return _summary(settings)


def _summary(settings: Settings) -> int:
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
