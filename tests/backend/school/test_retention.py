"""The retention purge on the real app: school snapshots expire by the backend's receipt time (a capture time in
2099 keeps nothing), uploads nothing cites go after a grace period, no other product's citation keeps a child's
snapshot, and files written before sealing at rest are sealed by the purge."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from backend.db import connect, transaction
from backend.services.school_app import run_purge
from backend.store import events
from backend.store.events import AttachmentLink, EventRow
from kuzet.contracts import Attachment
from tests.backend.conftest import ADMIN
from tests.backend.school.conftest import World
from tests.backend.test_media_tenancy import jpeg
from tests.support.events import entry

FUTURE = datetime(2099, 1, 1, 8, 0, tzinfo=UTC)


def _upload(world: World, seed: int, device: str = "device_a") -> Attachment:
    data = jpeg(seed)
    sha = hashlib.sha256(data).hexdigest()
    head = {**world.auth(device), "Content-Type": "image/jpeg"}
    assert world.client.put(f"/api/v1/media/{sha}", content=data, headers=head).status_code == 201
    return Attachment(sha256=sha, media_type="image/jpeg", role="snapshot", size_bytes=len(data))


def _exists(world: World, attachment: Attachment) -> bool:
    return (world.settings.media_dir / attachment.sha256[:2] / attachment.sha256).exists()


def _store_rows(world: World, rows: list[EventRow], links: list[AttachmentLink]) -> None:
    """Write events straight to the database, as rows stored before capture times and citations were checked."""
    db = connect(world.settings.database)
    try:
        with transaction(db) as conn:
            events.insert(conn, rows, links)
    finally:
        db.conn.close()


def test_snapshots_expire_by_receipt_time_whatever_the_capture_time(world: World) -> None:
    received = datetime.now(UTC)
    days = world.settings.school.snapshot_retention_days
    known = _upload(world, 1)
    world.post_events([entry("door-1", 1, pupil_id="p1", captured_at=received, attachments=(known,))])
    unknown = _upload(world, 2)
    face = entry("door-1", 2, identity="unknown", pupil_id=None, captured_at=received, attachments=(unknown,))
    world.post_events([face])
    dated_2099 = _upload(world, 3)  # cited by an event whose device clock said 2099 (stored before dates were bound)
    row = EventRow("e2099", "entry", "door-1", FUTURE.isoformat(), received.isoformat(), 1, "{}")
    _store_rows(world, [row], [AttachmentLink("e2099", dated_2099.sha256, "snapshot")])
    via_api = _upload(world, 4)  # the same sent through the API today: refused, or accepted; either way it expires
    late = entry("door-1", 4, identity="unknown", pupil_id=None, captured_at=FUTURE, attachments=(via_api,))
    world.client.post("/api/v1/events", json={"events": [late.model_dump(mode="json")]}, headers=world.auth("device_a"))

    assert run_purge(world.settings, received + timedelta(days=days - 1)) in (0, 1)  # at most the refused upload
    assert all(_exists(world, a) for a in (known, unknown, dated_2099))
    assert run_purge(world.settings, received + timedelta(days=days, hours=1)) >= 3
    assert not any(_exists(world, a) for a in (known, unknown, dated_2099, via_api))
    assert world.rows("SELECT snapshot_sha256 FROM unknown_faces") == [(None,)]
    assert world.rows("SELECT COUNT(*) FROM event_attachments") == [(0,)]
    assert world.rows("SELECT COUNT(*) FROM events WHERE event_id = 'e2099'") == [(1,)]  # the events stay
    assert world.rows("SELECT COUNT(*) FROM attendance") == [(1,)]  # attendance history stays
    assert world.rows("SELECT COUNT(*) FROM sessions") == [(0,)]  # every 12-hour session expired on the way


def test_an_uncited_upload_is_purged_after_the_grace(world: World) -> None:
    received = datetime.now(UTC)
    grace = timedelta(hours=world.settings.school.uncited_media_grace_hours)
    lonely = _upload(world, 5, "device_b")
    cited = _upload(world, 6)
    world.post_events([entry("door-1", 6, pupil_id="p2", captured_at=received, attachments=(cited,))])
    assert run_purge(world.settings, received + grace - timedelta(minutes=30)) == 0
    assert _exists(world, lonely)
    assert run_purge(world.settings, received + grace + timedelta(minutes=30)) == 1
    assert not _exists(world, lonely) and _exists(world, cited)
    assert world.rows("SELECT COUNT(*) FROM media_uploads WHERE sha256 = ?", lonely.sha256) == [(0,)]


@pytest.mark.parametrize("how", ["retention", "pupil deleted"])
def test_another_products_citation_never_keeps_a_childs_snapshot(world: World, how: str) -> None:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    body = {"camera_id": "cam-t", "kind": "traffic", "site": "d1"}
    assert world.client.post("/api/v1/devices", json=body, headers=admin).status_code == 201
    received = datetime.now(UTC)
    snapshot = _upload(world, 7)
    world.post_events([entry("door-1", 7, pupil_id="p1", captured_at=received, attachments=(snapshot,))])
    vehicle = EventRow("v-legacy", "vehicle", "cam-t", received.isoformat(), received.isoformat(), 1, "{}")
    _store_rows(world, [vehicle], [AttachmentLink("v-legacy", snapshot.sha256, "frame")])  # written before the check
    if how == "retention":
        days = world.settings.school.snapshot_retention_days
        assert run_purge(world.settings, received + timedelta(days=days, hours=1)) == 1
    else:
        head = world.auth("admin_a")
        assert world.client.delete("/api/v1/schools/school-1/pupils/p1", headers=head).status_code == 204
    assert not _exists(world, snapshot)
    assert world.rows("SELECT COUNT(*) FROM event_attachments WHERE sha256 = ?", snapshot.sha256) == [(0,)]
    assert world.rows("SELECT COUNT(*) FROM events WHERE event_id = 'v-legacy'") == [(1,)]


def test_files_stored_before_sealing_are_sealed_by_the_purge(world: World) -> None:
    attachment = _upload(world, 8)
    world.post_events([entry("door-1", 8, pupil_id="p1", captured_at=datetime.now(UTC), attachments=(attachment,))])
    path = world.settings.media_dir / attachment.sha256[:2] / attachment.sha256
    plain = jpeg(8)
    path.write_bytes(plain)  # a file as the backend wrote it before sealing at rest
    db = connect(world.settings.database)
    try:
        with transaction(db) as conn:
            conn.execute("UPDATE media SET sealed = 0 WHERE sha256 = ?", (attachment.sha256,))
    finally:
        db.conn.close()
    admin = {"Authorization": f"Bearer {ADMIN}"}
    assert world.client.get(f"/api/v1/media/{attachment.sha256}", headers=admin).content == plain  # still served
    run_purge(world.settings, datetime.now(UTC))
    assert path.read_bytes()[:4] == b"KZM1" and plain not in path.read_bytes()
    assert world.rows("SELECT sealed FROM media WHERE sha256 = ?", attachment.sha256) == [(1,)]
    assert world.client.get(f"/api/v1/media/{attachment.sha256}", headers=admin).content == plain
    assert np.frombuffer(plain, np.uint8)[:2].tolist() == [0xFF, 0xD8]  # it was a JPEG before
