"""The load of ``kuzet loadtest``: a morning of school doors plus a traffic mix, seeded and sent at a fixed rate.

Seed: ``doors`` schools with one door camera each, ``pupils_per_door`` pupils, one e-mail guardian each, cameras
registered with keys (the stores' own functions, one transaction). Plan: every pupil passes the door in turn
(entered, left, entered, ...: each event a new pass, so each one a parent message), and ``traffic_cameras`` send
vehicle events; each door's events of the run go in ``door_batches`` uplink batches (a door drains its spool every
few seconds), each traffic camera's in batches of ``vehicle_batch``. Batches are serialised before the clock starts,
so the sending threads spend their time on HTTP only.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from backend.db import connect, migrate, transaction
from backend.security import issue_key
from backend.store import devices, dialect, schools
from backend.store.devices import NewKey

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadPlan:
    """How much load: the event rate, the run's length and the shape of the traffic."""

    rate: float = 4000.0
    duration_s: float = 60.0
    doors: int = 7500
    pupils_per_door: int = 8
    traffic_cameras: int = 100
    traffic_share: float = 0.15
    door_batches: int = 4
    vehicle_batch: int = 100
    seed: int = 15

    @property
    def events(self) -> int:
        """Events of the whole run."""
        return int(self.rate * self.duration_s)


@dataclass
class Batch:
    """One uplink request: whose key, the JSON body, how many events, the passes it carries (guardian address)."""

    camera: str
    body: bytes
    events: int
    recipients: tuple[str, ...]
    due: float = 0.0


@dataclass
class Sent:
    """What the sender saw (UNIX times): per batch (due, sent, answered, status, events), per recipient the send times
    of its passes."""

    batches: list[tuple[float, float, float, int, int]] = field(default_factory=list)
    passes: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def seed(database: object, plan: LoadPlan) -> dict[str, str]:
    """Schools, doors, pupils, guardians and traffic cameras; returns each camera's API key."""
    db = connect(database)  # type: ignore[arg-type]
    keys: dict[str, str] = {}
    now = datetime.now(UTC).isoformat()
    try:
        migrate(db)
        with transaction(db) as conn:
            for d in range(plan.doors):
                school = f"ls{d}"
                schools.insert_school(conn, school, f"Load school {d}", now)
                schools.insert_class(conn, school, schools.SchoolClass(f"{school}-1", "1A", "08:00"))
                for p in range(plan.pupils_per_door):
                    pupil, guardian = f"{school}-p{p}", f"{school}-g{p}"
                    schools.insert_pupil(conn, schools.Pupil(pupil, f"Pupil {p}", f"{school}-1", school), now)
                    contact = schools.Guardian(guardian, f"Parent {p}", "ru", "email", f"{pupil}@load.kz")
                    schools.insert_guardian(conn, school, contact)
                    schools.link(conn, guardian, pupil)
                keys[f"door-{d}"] = _register(conn, f"door-{d}", "school", school, now)
            for c in range(plan.traffic_cameras):
                keys[f"road-{c}"] = _register(conn, f"road-{c}", "traffic", "load-district", now)
        dialect.analyze(db.conn)  # as autovacuum would before a real morning: the plans of every pass's lookups
    finally:
        db.conn.close()
    return keys


def _register(conn: object, camera: str, kind: str, site: str, now: str) -> str:
    key = issue_key()
    devices.insert(conn, NewKey(camera, kind, site, "load test", key.key_id, key.key_hash, now))  # type: ignore[arg-type]
    return key.plaintext


def _entry(door: int, pupil: int, n: int, at: datetime) -> dict[str, object]:
    return {
        "kind": "entry", "event_id": str(uuid.uuid4()), "camera_id": f"door-{door}", "captured_at": at.isoformat(),
        "clock_source": "ntp", "school_id": f"ls{door}", "identity": "known", "pupil_id": f"ls{door}-p{pupil}",
        "match_score": 0.9, "direction": "entered" if n % 2 == 0 else "left", "track_id": n,
    }  # fmt: skip


def _vehicle(camera: int, n: int, at: datetime, rng: random.Random) -> dict[str, object]:
    return {
        "kind": "vehicle", "event_id": str(uuid.uuid4()), "camera_id": f"road-{camera}", "captured_at": at.isoformat(),
        "clock_source": "ntp", "track_id": n % 100_000, "vehicle_class": "car",
        "speed_kmh": round(rng.uniform(20, 90), 1), "first_seen": (at - timedelta(seconds=2)).isoformat(),
        "last_seen": at.isoformat(),
    }  # fmt: skip


def plan_batches(plan: LoadPlan, t0: datetime) -> list[Batch]:
    """Every request of the run in send order, each with its due time (seconds from the start)."""
    rng = random.Random(plan.seed)
    entries = int(plan.events * (1 - plan.traffic_share))
    per_door = max(1, entries // plan.doors)
    batches: list[Batch] = []
    for door in range(plan.doors):
        events = [_entry(door, i % plan.pupils_per_door, i // plan.pupils_per_door,
                         t0 + timedelta(seconds=plan.duration_s * i / per_door)) for i in range(per_door)]  # fmt: skip
        size = max(1, -(-per_door // plan.door_batches))
        for start in range(0, per_door, size):
            part = events[start : start + size]
            recipients = tuple(f"{e['pupil_id']}@load.kz" for e in part)
            batches.append(Batch(f"door-{door}", json.dumps({"events": part}).encode(), len(part), recipients))
    vehicles = plan.events - entries
    per_camera = max(1, vehicles // max(plan.traffic_cameras, 1))
    for camera in range(plan.traffic_cameras):
        events = [_vehicle(camera, i, t0 + timedelta(seconds=plan.duration_s * i / per_camera), rng)
                  for i in range(per_camera)]  # fmt: skip
        for start in range(0, per_camera, plan.vehicle_batch):
            part = events[start : start + plan.vehicle_batch]
            batches.append(Batch(f"road-{camera}", json.dumps({"events": part}).encode(), len(part), ()))
    order = {camera: rng.random() for camera in {b.camera for b in batches}}
    seen: dict[str, int] = {}
    ranks = []
    for batch in batches:  # each camera's batches in capture order, the cameras interleaved at random
        seen[batch.camera] = seen.get(batch.camera, 0) + 1
        ranks.append((seen[batch.camera], order[batch.camera]))
    batches = [b for _, b in sorted(zip(ranks, batches, strict=True), key=lambda pair: pair[0])]
    total = sum(b.events for b in batches)
    done = 0
    for batch in batches:  # due when the events before it have been sent at the planned rate
        batch.due = done / plan.rate
        done += batch.events
    logger.info("load: %d requests, %d events", len(batches), total)
    return batches


def send(
    batches: list[Batch], urls: list[str], keys: dict[str, str], threads: int = 24, give_up_s: float = 1e9
) -> Sent:
    """Post every batch at its due time (late ones at once) from ``threads`` threads, over the API processes in turn
    by camera; retries a refused batch (429/5xx) as an uplink would; a batch not begun ``give_up_s`` after the start
    is not sent (status -1: the target could not keep up). Returns what was seen."""
    sent = Sent()
    clients = [httpx.Client(timeout=60.0, limits=httpx.Limits(max_connections=threads)) for _ in urls]
    start = time.time()

    def post(batch: Batch) -> None:
        index = hash(batch.camera) % len(urls)
        wait = start + batch.due - time.time()
        if wait > 0:
            time.sleep(wait)
        began = time.time()
        if began > start + give_up_s:
            with sent.lock:
                sent.batches.append((start + batch.due, began, began, -1, batch.events))
            return
        status = 0
        for _ in range(20):
            try:
                status = clients[index].post(f"{urls[index]}/api/v1/events", content=batch.body,
                                             headers={"X-API-Key": keys[batch.camera],
                                                      "Content-Type": "application/json"}).status_code  # fmt: skip
            except httpx.HTTPError as exc:
                logger.warning("load: %s: %s", batch.camera, exc)
                status = 0
            if status == 200:
                break
            time.sleep(0.5)
        done = time.time()
        with sent.lock:
            sent.batches.append((start + batch.due, began, done, status, batch.events))
            for recipient in batch.recipients:
                sent.passes.setdefault(recipient, []).append(began)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, batches))
    for client in clients:
        client.close()
    return sent
