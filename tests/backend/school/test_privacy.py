"""Minors' privacy: placeholder keys refused, consent before templates, encryption at rest, enrolment checks per
photo with the real face models, gallery versions and deletion (the retention purge: ``test_retention.py``)."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from cryptography.exceptions import InvalidTag
from pydantic import ValidationError

from backend.db import connect, transaction
from backend.services import privacy
from backend.settings import Settings
from kuzet.contracts import Attachment
from tests.backend.conftest import ADMIN
from tests.backend.school.conftest import World
from tests.support.events import entry

SAMPLES = Path(__file__).resolve().parents[3] / "samples"
OBAMA = SAMPLES / "school" / "people" / "obama" / "obama.jpg"
TWO_FACES = SAMPLES / "faces" / "kit_with_rose.jpg"
P1 = "/api/v1/schools/school-1/pupils/p1"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("changeme-changeme-changeme-changeme-changeme", "placeholder"),
        ("not base64 at all !!! not base64 at all !!!", "base64"),
        (base64.b64encode(b"\x00" * 32).decode(), "random"),
        (base64.b64encode(bytes(range(33))).decode(), "32 random bytes"),
    ],
)
def test_placeholder_or_malformed_template_key_refuses_to_start(key: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(admin_token=ADMIN, template_key=key)


def _jpeg(image: np.ndarray) -> bytes:
    return bytes(cv2.imencode(".jpg", image)[1].tobytes())


def _photos() -> list[tuple[str, tuple[str, bytes, str]]]:
    face = cv2.imread(str(OBAMA))
    blank = np.full((400, 400, 3), 128, np.uint8)
    tiny = cv2.resize(face, (face.shape[1] // 8, face.shape[0] // 8), interpolation=cv2.INTER_AREA)
    tiny = cv2.copyMakeBorder(tiny, 200, 200, 200, 200, cv2.BORDER_CONSTANT, value=(128, 128, 128))
    blurred = cv2.GaussianBlur(face, (0, 0), 9)
    files = {
        "good.jpg": OBAMA.read_bytes(),
        "two.jpg": TWO_FACES.read_bytes(),
        "blank.jpg": _jpeg(blank),
        "tiny.jpg": _jpeg(tiny),
        "blurred.jpg": _jpeg(blurred),
        "garbage.jpg": b"not an image",
    }
    return [("photos", (name, data, "image/jpeg")) for name, data in files.items()]


def test_enrolment_needs_consent_checks_each_photo_and_keeps_only_encrypted_templates(world: World) -> None:
    head = world.auth("admin_a")
    refused = world.client.post(f"{P1}/photos", files=_photos()[:1], headers=head)
    assert refused.status_code == 409 and "consent" in refused.text

    consent = {"granted": True, "given_by": "Aigerim"}
    assert world.client.put(f"{P1}/consent", json=consent, headers=head).json()["consent"] is True
    reply = world.client.post(f"{P1}/photos", files=_photos(), headers=head)
    assert reply.status_code == 200, reply.text
    verdicts = {p["filename"]: (p["accepted"], p["message"]) for p in reply.json()["photos"]}
    assert verdicts["good.jpg"] == (True, "face enrolled")
    assert verdicts["two.jpg"][0] is False and "2 faces" in verdicts["two.jpg"][1]
    assert verdicts["blank.jpg"][0] is False and "no face" in verdicts["blank.jpg"][1]
    assert verdicts["tiny.jpg"][0] is False and (
        "too small" in verdicts["tiny.jpg"][1] or "no face" in verdicts["tiny.jpg"][1]
    )
    assert verdicts["blurred.jpg"][0] is False and "blurry" in verdicts["blurred.jpg"][1]
    assert verdicts["garbage.jpg"][0] is False and "not a readable image" in verdicts["garbage.jpg"][1]
    assert reply.json()["templates"] == 1

    # only the encrypted template and one thumbnail were kept; no photo anywhere
    ((template_id, nonce, blob),) = world.rows("SELECT template_id, nonce, ciphertext FROM face_templates")
    gallery = world.client.get("/api/v1/gallery", headers=world.auth("device_a")).json()
    (template,) = gallery["added"]
    plain = np.asarray(template["embedding"], "<f4").tobytes()
    assert plain not in bytes(blob) and len(template["embedding"]) == 128
    assert abs(float(np.linalg.norm(template["embedding"])) - 1.0) < 1e-4
    with pytest.raises(InvalidTag):
        privacy.unseal(b"\x01" * 32, bytes(nonce), bytes(blob), str(template_id))
    assert world.rows("SELECT COUNT(*) FROM media") == [(0,)]
    thumb = world.client.get(f"{P1}/thumbnail", headers=world.auth("staff_a"))
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8" and len(thumb.content) < 20_000
    assert OBAMA.read_bytes() not in Path(world.settings.database).read_bytes()


def _store(world: World, pupil: str, seed: int) -> None:
    db = connect(world.settings.database)
    with transaction(db) as conn:
        privacy.set_consent(conn, pupil, True, "guardian", "test")
        vectors = np.random.default_rng(seed).normal(size=(2, 128)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        privacy.store_templates(conn, world.settings.template_key_bytes, pupil, "sface_2021dec", vectors, None)
    db.conn.close()


def _pull(world: World, since: int) -> dict[str, object]:
    reply = world.client.get(f"/api/v1/gallery?since={since}", headers=world.auth("device_a"))
    assert reply.status_code == 200
    return dict(reply.json())


def test_gallery_sends_only_changes_and_drops_withdrawn_consent(world: World) -> None:
    assert _pull(world, 0)["to_version"] == 0
    _store(world, "p1", 1)
    first = _pull(world, 0)
    assert first["to_version"] == 1 and len(first["added"]) == 2  # type: ignore[arg-type]
    _store(world, "p2", 2)
    delta = _pull(world, 1)
    assert {t["pupil_id"] for t in delta["added"]} == {"p2"} and delta["removed"] == []  # type: ignore[union-attr]
    assert _pull(world, 2)["added"] == []

    withdraw = {"granted": False, "given_by": "Aigerim"}
    reply = world.client.put(f"{P1}/consent", json=withdraw, headers=world.auth("admin_a"))
    assert reply.json() == {"pupil_id": "p1", "name": "Aruzhan", "class_id": "5a", "consent": False, "templates": 0}
    delta = _pull(world, 2)
    p1_ids = {t["template_id"] for t in first["added"]}  # type: ignore[union-attr]
    assert set(delta["removed"]) == p1_ids and delta["added"] == []  # type: ignore[arg-type]
    assert {t["pupil_id"] for t in _pull(world, 0)["added"]} == {"p2"}  # type: ignore[union-attr]
    with pytest.raises(Exception, match="consent"):
        _store_without_consent(world)


def _store_without_consent(world: World) -> None:
    db = connect(world.settings.database)
    try:
        with transaction(db) as conn:
            privacy.store_templates(
                conn, world.settings.template_key_bytes, "p1", "m", np.ones((1, 128), np.float32), None
            )
    finally:
        db.conn.close()


def _snapshot_event(world: World, pupil: str | None, at: datetime, n: int) -> str:
    data = _jpeg(np.full((16, 16, 3), n, np.uint8))
    sha = hashlib.sha256(data).hexdigest()
    head = {**world.auth("device_a"), "Content-Type": "image/jpeg"}
    assert world.client.put(f"/api/v1/media/{sha}", content=data, headers=head).status_code == 201
    attachment = Attachment(sha256=sha, media_type="image/jpeg", role="snapshot", size_bytes=len(data))
    identity = "known" if pupil else "unknown"
    world.post_events(
        [entry("door-1", n, pupil_id=pupil, identity=identity, captured_at=at, attachments=(attachment,))]
    )
    return sha


def _exists(world: World, sha: str) -> bool:
    return (world.settings.media_dir / sha[:2] / sha).exists()


def test_deleting_a_pupil_deletes_templates_and_snapshots(world: World) -> None:
    _store(world, "p1", 3)
    mine = _snapshot_event(world, "p1", datetime.now(UTC), 1)
    other = _snapshot_event(world, "p2", datetime.now(UTC), 2)
    assert world.client.delete(P1, headers=world.auth("admin_a")).status_code == 204
    assert not _exists(world, mine) and _exists(world, other)
    assert world.rows("SELECT COUNT(*) FROM face_templates WHERE pupil_id = 'p1'") == [(0,)]
    assert world.rows("SELECT COUNT(*) FROM school_passes WHERE pupil_id = 'p1'") == [(0,)]
    assert world.rows("SELECT COUNT(*) FROM outbox WHERE body LIKE '%Aruzhan%'") == [(0,)]
    assert world.rows("SELECT COUNT(*) FROM outbox WHERE body LIKE '%Timur%'") == [(1,)]
    assert world.client.get(P1, headers=world.auth("staff_a")).status_code == 404
    assert world.rows("SELECT action, subject FROM audit_log WHERE action = 'delete_pupil'") == [
        ("delete_pupil", "pupil:p1")
    ]


def test_door_gallery_follows_the_backend_through_the_edge_sync_client(world: World, tmp_path: Path) -> None:
    from edge.config import UplinkConfig
    from edge.school.gallery import Gallery, GalleryFile
    from edge.school.sync import GalleryClient, sync_gallery

    config = UplinkConfig.model_validate({"backend_url": "http://testserver", "api_key": world.keys["device_a"]})
    client = GalleryClient(config, client=world.client)
    door, store = Gallery.empty(128), GalleryFile(tmp_path / "g.npz", tmp_path / "g.key")
    _store(world, "p1", 4)
    _store(world, "p2", 5)
    result = sync_gallery(door, "school-1", client, store)
    assert result.error is None and (result.to_version, result.added) == (2, 4)
    assert sorted(set(door.pupil_ids.tolist())) == ["p1", "p2"]
    withdraw = {"granted": False, "given_by": "Aigerim"}
    world.client.put(f"{P1}/consent", json=withdraw, headers=world.auth("admin_a"))
    result = sync_gallery(door, "school-1", client, store)
    assert (result.from_version, result.to_version, result.added, result.removed) == (2, 3, 0, 2)
    assert set(door.pupil_ids.tolist()) == {"p2"} and len(door) == 2
    refused = sync_gallery(door, "school-2", client, store)  # another school's gallery
    assert refused.error is not None and "403" in refused.error


@pytest.mark.parametrize(
    ("consent", "passes_of_p1", "told"),
    [
        (None, 1, 1),  # never recorded: the door's identification stands (templates exist only with consent)
        (True, 1, 1),
        (False, 0, 0),  # withdrawn: a door that has not synced yet still names the pupil; nothing is stored or sent
    ],
)
def test_identifications_after_withdrawal_are_discarded_at_ingest(
    world: World, consent: bool | None, passes_of_p1: int, told: int
) -> None:
    first, second = entry("door-1", 1, pupil_id="p1"), entry("door-1", 2, pupil_id="p2")

    def counts() -> list[object]:
        return [world.rows(sql)[0][0] for sql in (
            "SELECT COUNT(*) FROM school_passes WHERE pupil_id = 'p1'",
            "SELECT COUNT(*) FROM school_passes WHERE pupil_id = 'p2'",
            "SELECT COUNT(*) FROM unknown_faces",
            f"SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'pass:{first.event_id}:%'",
        )]  # fmt: skip

    if consent is not None:
        body = {"granted": consent, "given_by": "Aigerim"}
        assert world.client.put(f"{P1}/consent", json=body, headers=world.auth("admin_a")).status_code == 200
    before = counts()
    reply = world.post_events([first, second])
    assert len(reply["accepted"]) == 2  # type: ignore[arg-type]
    added = [int(a) - int(b) for a, b in zip(counts(), before, strict=True)]  # type: ignore[call-overload]
    # p1's pass and message only while consent stands; p2 unaffected; never kept as a stranger's face either
    assert added == [passes_of_p1, 1, 0, told]
