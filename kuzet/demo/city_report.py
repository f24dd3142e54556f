"""The end of ``kuzet demo --city``: the same 'stored in the backend' lines as ``kuzet demo`` plus where each kind
of record went (PostgreSQL, the S3 bucket, the vehicle stream and its per-minute aggregates, the outbox stream)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from backend.broker.streams import outbox_stream, vehicles_stream
from backend.db import connect
from backend.store import vehicle_minutes
from kuzet.city.stack import BUCKET
from notifications import outbox
from notifications.jetstream import JetStreamLink

if TYPE_CHECKING:
    from kuzet.city.stack import CityStack


def _counts(city: CityStack) -> tuple[list[tuple[str, str, int]], tuple[int, int], int, dict[str, int], int]:
    """(events per kind and camera, (attachments, bytes), vehicle events, outbox states, vehicles aggregated)."""
    assert city.settings is not None
    db = connect(city.settings.database)
    try:
        rows = db.execute("SELECT kind, camera_id, COUNT(*) FROM events GROUP BY kind, camera_id ORDER BY 1, 2")
        events = [(str(k), str(c), int(n)) for k, c, n in rows.fetchall()]
        media = db.execute("SELECT COUNT(*), COALESCE(SUM(size_bytes), 0) FROM media").fetchone()
        states = outbox.counts(db.conn)
        aggregated = vehicle_minutes.total_vehicles(db.conn)
    finally:
        db.conn.close()
    vehicles = sum(n for kind, _, n in events if kind == "vehicle")
    return events, (int(media[0]), int(media[1])), vehicles, states, aggregated


def where_records_went(
    city: CityStack, placed: dict[str, str], smtp_accepted: int, police_received: int
) -> tuple[list[str], bool]:
    """Summary lines and whether the run is whole (events stored, every message sent, every vehicle counted)."""
    assert city.settings is not None
    deadline = time.monotonic() + 20
    events, media, vehicles, states, aggregated = _counts(city)
    while (aggregated < vehicles or states["pending"] + states["sending"]) and time.monotonic() < deadline:
        time.sleep(0.2)  # the aggregators and the fan-out workers catch up
        events, media, vehicles, states, aggregated = _counts(city)
    keys = city.s3.client().list_objects_v2(Bucket=BUCKET, Prefix="media/sha256/").get("KeyCount", 0)
    link = JetStreamLink(city.nats.url, name="city-report")
    try:
        streams = {name: link.call(link.js.stream_info(name)).state for name in
                   (vehicles_stream(city.settings.broker), outbox_stream(city.settings.broker))}  # fmt: skip
    finally:
        link.close()
    lines = ["== stored in the backend"]
    lines += [f"  {n:4d} {kind} events from {camera}" for kind, camera, n in events]
    lines.append(f"  {media[0]} attachments, {media[1] / 1e6:.1f} MB")
    lines.append("== where each record went")
    lines.append(f"  events, attendance, violations, outbox: PostgreSQL {city.settings.database}")
    lines.append(f"  attachments: {keys} sealed objects in s3://{BUCKET}/media/sha256/ ({city.s3.endpoint_url})")
    vs = streams[vehicles_stream(city.settings.broker)]
    lines.append(
        f"  vehicle events: {vs.messages} batch messages in stream {vehicles_stream(city.settings.broker)};"
        f" the aggregators counted {aggregated} of {vehicles} vehicles into vehicle_minutes"
    )
    lines.append(
        f"  outbox: {states['sent']} sent, {states['dead']} dead, fanned out through stream"
        f" {outbox_stream(city.settings.broker)} to {len(city.workers)} workers; SMTP accepted {smtp_accepted},"
        f" the police receiver {police_received}"
    )
    for camera, url in sorted(placed.items()):
        lines.append(f"  camera {camera} uploaded to {url}")
    whole = bool(events) and aggregated == vehicles and states["pending"] + states["sending"] == 0
    return lines, whole
