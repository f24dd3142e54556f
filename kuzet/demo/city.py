"""``kuzet demo --city``: the same job as ``kuzet demo`` on the city setup, and where each record went.

PostgreSQL, NATS JetStream and an S3 server are started locally (``CityStack``), two API processes serve the same
database (door cameras upload to the first, traffic cameras to the second), two ``kuzet notify`` processes aggregate
vehicle events and deliver the outbox fanned out through the broker to the local SMTP server and police receiver.
Everything started is stopped at the end, on failure and on Ctrl-C.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import click

from edge.config import UplinkConfig
from edge.spool import Spool
from kuzet.city.postgres import PostgresMissingError
from kuzet.city.stack import CityStack
from kuzet.demo.city_report import where_records_went
from kuzet.demo.seed import seed_demo_school
from kuzet.demo.stages import fresh_dir, local_notifications, run_stages
from kuzet.demo.support import SAMPLES, SCHOOL_ID, DemoBackend, PoliceReceiver, SmtpInbox


@dataclass(frozen=True)
class Endpoint:
    """An API process as the demo stages see a backend (its base URL)."""

    url: str


class TwoApis(DemoBackend):
    """Devices spread over the API processes: school cameras on the first, traffic cameras on the second."""

    def __init__(self, urls: list[str], admin_token: str, work_dir: Path) -> None:
        super().__init__(Endpoint(urls[0]), admin_token, work_dir)  # type: ignore[arg-type]
        self.urls = urls
        self.placed: dict[str, str] = {}

    def device(
        self, camera_id: str, kind: str, site: str, evidence_key: str | None = None
    ) -> tuple[Spool, UplinkConfig]:
        """Register through the first API, upload through the API of the camera's kind."""
        spool, uplink = super().device(camera_id, kind, site, evidence_key)
        url = self.urls[0] if kind == "school" else self.urls[-1]
        self.placed[camera_id] = url
        return spool, uplink.model_copy(update={"backend_url": url})


def run(work_dir: Path) -> int:
    """Start the city setup in ``work_dir`` (emptied first), run every stage, print the summary; the exit code."""
    fresh_dir(work_dir)
    secret = secrets.token_hex(24)
    inbox, police = SmtpInbox().start(), PoliceReceiver(secret).start()
    notifications = local_notifications(inbox, police, secret)
    try:
        with CityStack(work_dir, notifications) as city:
            return _run_stages(city, inbox, police)
    except PostgresMissingError as exc:
        click.echo(f"kuzet demo --city: {exc}", err=True)
        return 2
    finally:
        inbox.stop()
        police.stop()


def _run_stages(city: CityStack, inbox: SmtpInbox, police: PoliceReceiver) -> int:
    settings = city.settings
    assert settings is not None
    seeded = seed_demo_school(
        settings.database, SAMPLES / "school" / "people", SCHOOL_ID, template_key=settings.template_key_bytes
    )
    api = TwoApis(city.api_urls, settings.admin_token, city.work_dir)
    click.echo(f"city: PostgreSQL {settings.database}, NATS {city.nats.url}, S3 {city.s3.endpoint_url}")
    for child, url in zip(city.apis, city.api_urls, strict=True):
        click.echo(f"  {child.name} pid {child.pid} {url}")
    for child in city.workers:
        click.echo(f"  {child.name} pid {child.pid} (aggregator, outbox relay and fan-out worker)")
    for line in seeded:
        click.echo(f"  {line}")
    run_stages(api, settings, inbox, police)
    lines, ok = where_records_went(city, api.placed, len(inbox.messages), len(police.received))
    for line in lines:
        click.echo(line)
    return 0 if ok else 1
