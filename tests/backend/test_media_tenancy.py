"""Media bound to its tenant, end to end on the real app and a real SQLite file.

The reproduction of issue 14: school 2's door uploads a face snapshot; a traffic camera of a district and school 1's
door cite it. Both citations are refused at ingest (422 with the reason, per event, so the device's uplink sets
aside only that event), and a reference that got in some other way (written before the check existed) is never
served: the operator and school 1's staff get the same 404 as for bytes that do not exist. Files are sealed at rest.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

from backend.db import connect, transaction
from kuzet.contracts import Attachment, EventBatch, ViolationEvent
from tests.backend.conftest import ADMIN
from tests.backend.school.conftest import World, build_world
from tests.backend.violations.evidence import make_package
from tests.support.events import entry

ADMIN_HEAD = {"Authorization": f"Bearer {ADMIN}"}


def jpeg(seed: int) -> bytes:
    """A small real JPEG, different per seed."""
    out = io.BytesIO()
    Image.fromarray(np.full((24, 24, 3), seed % 256, np.uint8)).save(out, "JPEG")
    return out.getvalue()


@dataclass
class Scene:
    world: World
    traffic_key: str
    operator: dict[str, str]
    snapshot: bytes
    sha: str
    root: Path

    def put(self, key: dict[str, str], data: bytes, media_type: str = "image/jpeg") -> int:
        sha = hashlib.sha256(data).hexdigest()
        reply = self.world.client.put(f"/api/v1/media/{sha}", content=data, headers={**key, "Content-Type": media_type})
        return reply.status_code

    def post(self, key: dict[str, str], *events: object) -> tuple[int, dict[str, object]]:
        body = EventBatch(events=tuple(events)).model_dump(mode="json")  # type: ignore[arg-type]
        reply = self.world.client.post("/api/v1/events", json=body, headers=key)
        return reply.status_code, reply.json()

    def sql(self, statement: str, *args: object) -> None:
        db = connect(self.world.settings.database)
        try:
            with transaction(db) as conn:
                conn.execute(statement, args)
        finally:
            db.conn.close()


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    root = tmp_path_factory.mktemp("tenancy")
    worlds = build_world(root, purge_interval_s=0)
    world = next(worlds)
    client = world.client
    reply = client.post(
        "/api/v1/devices", json={"camera_id": "cam-t", "kind": "traffic", "site": "d1"}, headers=ADMIN_HEAD
    )
    traffic_key = reply.json()["api_key"]
    body = {"username": "op-d1", "password": "operator-password-1", "district": "d1"}
    assert client.post("/api/v1/operators", json=body, headers=ADMIN_HEAD).status_code == 201
    token = client.post("/api/v1/operators/login", json={"username": "op-d1", "password": body["password"]})
    client.cookies.clear()
    snapshot = jpeg(7)
    scene = Scene(
        world,
        traffic_key,
        {"Authorization": f"Bearer {token.json()['token']}"},
        snapshot,
        hashlib.sha256(snapshot).hexdigest(),
        root,
    )
    assert scene.put(world.auth("device_b"), snapshot) == 201  # school 2's door: a child's face
    yield scene
    worlds.close()


def snapshot_of(scene: Scene, size: int | None = None) -> Attachment:
    return Attachment(
        sha256=scene.sha, media_type="image/jpeg", role="snapshot", size_bytes=size or len(scene.snapshot)
    )


def violation_citing(scene: Scene, extra: Attachment | None) -> tuple[ViolationEvent, dict[str, bytes]]:
    """A real evidence package of cam-t, uploaded by cam-t, with ``extra`` added to its attachments."""
    event, media = make_package(scene.root, "cam-t")
    for attachment in event.attachments:
        assert scene.put({"X-API-Key": scene.traffic_key}, media[attachment.sha256], attachment.media_type) in (
            200,
            201,
        )
    if extra is not None:
        event = event.model_copy(update={"attachments": (*event.attachments, extra)})
    return event, media


def test_a_traffic_camera_cannot_cite_a_schools_snapshot(scene: Scene) -> None:
    event, _ = violation_citing(scene, snapshot_of(scene))
    status, body = scene.post({"X-API-Key": scene.traffic_key}, event)
    assert status == 422, body
    assert body["rejected"] == [
        {
            "event_id": str(event.event_id),
            "reason": f"attachment {scene.sha} was not uploaded by a camera of traffic site 'd1';"
            f" PUT it to /api/v1/media/{scene.sha} first",
        }
    ]
    assert scene.world.rows("SELECT COUNT(*) FROM violations") == [(0,)]
    fetched = scene.world.client.get(f"/api/v1/violations/{event.event_id}/media/{scene.sha}", headers=scene.operator)
    assert fetched.status_code == 404


def test_a_door_cannot_cite_another_schools_snapshot(scene: Scene) -> None:
    poison = entry(
        "door-1", 1, identity="unknown", pupil_id=None, attachments=(snapshot_of(scene),), captured_at=datetime.now(UTC)
    )
    fine = entry("door-1", 2, pupil_id="p2", captured_at=datetime.now(UTC))
    status, body = scene.post(scene.world.auth("device_a"), fine, poison)
    assert status == 422 and [r["event_id"] for r in body["rejected"]] == [str(poison.event_id)]  # type: ignore[union-attr]
    # the uplink then sends one event at a time: the good one is stored, only the poison one is refused
    assert scene.post(scene.world.auth("device_a"), fine)[0] == 200
    assert scene.post(scene.world.auth("device_a"), poison)[0] == 422
    assert scene.world.rows("SELECT COUNT(*) FROM unknown_faces WHERE school_id = 'school-1'") == [(0,)]


def test_the_owner_school_cites_and_fetches_its_own_snapshot(scene: Scene) -> None:
    own = entry(
        "door-2",
        3,
        school_id="school-2",
        identity="unknown",
        pupil_id=None,
        attachments=(snapshot_of(scene),),
        captured_at=datetime.now(UTC),
    )
    assert scene.post(scene.world.auth("device_b"), own)[0] == 200
    path = f"/api/v1/schools/school-2/unknown/{own.event_id}/snapshot"
    reply = scene.world.client.get(path, headers=scene.world.auth("staff_b"))
    assert reply.status_code == 200 and reply.content == scene.snapshot
    assert reply.headers["cache-control"] == "no-store"
    foreign = f"/api/v1/schools/school-1/unknown/{own.event_id}/snapshot"
    assert scene.world.client.get(foreign, headers=scene.world.auth("staff_a")).status_code == 404


def test_a_wrong_type_or_size_for_stored_bytes_is_refused(scene: Scene) -> None:
    lying = entry(
        "door-2",
        4,
        school_id="school-2",
        identity="unknown",
        pupil_id=None,
        attachments=(snapshot_of(scene, size=5),),
        captured_at=datetime.now(UTC),
    )
    status, body = scene.post(scene.world.auth("device_b"), lying)
    assert status == 422 and "5 bytes" in str(body["detail"])


def test_the_same_bytes_uploaded_by_another_tenant_are_theirs_to_cite(scene: Scene) -> None:
    data = jpeg(99)
    assert scene.put(scene.world.auth("device_a"), data) == 201
    assert scene.put(scene.world.auth("device_b"), data) == 200  # stored once, but school 2's door has the bytes too
    attachment = Attachment(
        sha256=hashlib.sha256(data).hexdigest(), media_type="image/jpeg", role="snapshot", size_bytes=len(data)
    )
    cite = entry(
        "door-2",
        5,
        school_id="school-2",
        identity="unknown",
        pupil_id=None,
        attachments=(attachment,),
        captured_at=datetime.now(UTC),
    )
    assert scene.post(scene.world.auth("device_b"), cite)[0] == 200


def test_references_written_before_the_check_are_never_served(scene: Scene) -> None:
    """A violation and a school-1 unknown face that cite school 2's snapshot straight in the database (as data
    from before the check could): the operator and school 1's staff get 404, and the review pages omit it."""
    event, media = violation_citing(scene, None)
    assert scene.post({"X-API-Key": scene.traffic_key}, event)[0] == 200
    vid = str(event.event_id)
    insert = (
        "INSERT INTO violation_files(violation_id, role, sha256, media_type) VALUES (?, 'frame_x', ?, 'image/jpeg')"
    )
    scene.sql(insert, vid, scene.sha)
    client = scene.world.client
    assert client.get(f"/api/v1/violations/{vid}/media/{scene.sha}", headers=scene.operator).status_code == 404
    missing = "f" * 64
    assert client.get(f"/api/v1/violations/{vid}/media/{missing}", headers=scene.operator).status_code == 404
    shown = client.get(f"/api/v1/violations/{vid}", headers=scene.operator).json()
    assert scene.sha not in {f["sha256"] for f in shown["files"]} and len(shown["files"]) == len(event.attachments)
    assert scene.sha not in client.get(f"/review/{vid}", headers=scene.operator).text
    own = next(a for a in event.attachments if a.media_type == "image/jpeg")
    reply = client.get(f"/api/v1/violations/{vid}/media/{own.sha256}", headers=scene.operator)
    assert reply.status_code == 200 and reply.content == media[own.sha256]
    mine = jpeg(11)
    assert scene.put(scene.world.auth("device_a"), mine) == 201
    attachment = Attachment(
        sha256=hashlib.sha256(mine).hexdigest(), media_type="image/jpeg", role="snapshot", size_bytes=len(mine)
    )
    face = entry(
        "door-1", 6, identity="unknown", pupil_id=None, attachments=(attachment,), captured_at=datetime.now(UTC)
    )
    assert scene.post(scene.world.auth("device_a"), face)[0] == 200
    event_id = str(face.event_id)
    scene.sql("UPDATE unknown_faces SET snapshot_sha256 = ? WHERE event_id = ?", scene.sha, event_id)
    path = f"/api/v1/schools/school-1/unknown/{event_id}/snapshot"
    assert client.get(path, headers=scene.world.auth("staff_a")).status_code == 404


def test_files_on_disk_are_sealed_not_jpeg(scene: Scene) -> None:
    path = scene.world.settings.media_dir / scene.sha[:2] / scene.sha
    raw = path.read_bytes()
    assert raw[:4] == b"KZM1" and scene.snapshot not in raw and b"\xff\xd8\xff" not in raw[:64]
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(raw))
    admin = scene.world.client.get(f"/api/v1/media/{scene.sha}", headers=ADMIN_HEAD)
    assert admin.status_code == 200 and admin.content == scene.snapshot
