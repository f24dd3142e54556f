"""Officer-signed hand-off on a real app and SQLite file: refusals write nothing, the police receiver verifies the
officer's and the camera's signatures holding only public keys, operators may hold their own key."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from backend.db import connector
from backend.services.media import MediaVault
from edge.traffic.evidence_keys import public_hex
from notifications.channels.police_webhook import PoliceWebhookChannel
from notifications.config import PoliceWebhookConfig, WorkerConfig
from notifications.police_handoff import HandoffError, verify_handoff
from notifications.worker import OutboxWorker
from tests.backend.violations.conftest import PASSWORD, Traffic, upload
from tests.backend.violations.evidence import make_package
from tests.notifications.servers import PoliceReceiver, Reply


def _count(traffic: Traffic, sql: str) -> int:
    conn = sqlite3.connect(traffic.settings.database)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def _nothing_written(traffic: Traffic, vid: str) -> None:
    assert _count(traffic, "SELECT COUNT(*) FROM outbox") == 0
    assert _count(traffic, "SELECT COUNT(*) FROM violation_handoffs") == 0
    assert _count(traffic, f"SELECT COUNT(*) FROM violations WHERE violation_id = '{vid}' AND state = 'queued'") == 1
    assert _count(traffic, "SELECT COUNT(*) FROM violation_audit WHERE action IN ('confirm', 'correct_plate')") == 0


def _confirm(traffic: Traffic, vid: str, body: dict[str, Any] | None = None, who: str = "op-a") -> Any:
    return traffic.client.post(f"/api/v1/violations/{vid}/confirm", json=body or {}, headers=traffic.auth(who))


def test_no_plate_is_refused_with_409_and_writes_nothing_until_the_operator_gives_one(traffic: Traffic) -> None:
    vid, _, _ = traffic.post("cam-a", plate=None)
    refused = _confirm(traffic, vid)
    assert refused.status_code == 409, refused.text
    assert any("no valid plate" in r for r in refused.json()["reasons"])
    _nothing_written(traffic, vid)
    assert _confirm(traffic, vid, {"plate": "12 ??"}).status_code == 422
    done = _confirm(traffic, vid, {"plate": "777 aaa 02"})
    assert done.status_code == 200, done.text
    body = json.loads(traffic.client.get(f"/api/v1/violations/{vid}/handoff", headers=traffic.auth("op-a")).text)
    assert body["status"] == 409  # nothing left to hand off: it is decided
    handoff = json.loads(json.loads(_outbox_bodies(traffic)[0])["handoff"])
    assert (handoff["plate"], handoff["plate_read"], handoff["plate_corrected_by_operator"]) == ("777AAA02", None, True)


def _outbox_bodies(traffic: Traffic) -> list[str]:
    conn = sqlite3.connect(traffic.settings.database)
    try:
        return [str(r[0]) for r in conn.execute("SELECT body FROM outbox ORDER BY rowid")]
    finally:
        conn.close()


def _drop_after_ingest(traffic: Traffic, event: Any) -> None:
    frame = next(a for a in event.attachments if a.role == "frame_01_at")
    MediaVault.of(traffic.settings).objects.delete(frame.sha256)


@pytest.mark.parametrize("how", ["never uploaded", "lost after ingest"])
def test_a_missing_evidence_file_is_refused_with_409_and_writes_nothing(traffic: Traffic, how: str) -> None:
    event, media = make_package(traffic.root, "cam-a")
    if how == "never uploaded":
        event = event.model_copy(update={"attachments": tuple(a for a in event.attachments if a.role != "plate_crop")})
    upload(traffic.client, traffic.keys["cam-a"], event, media)
    if how == "lost after ingest":
        _drop_after_ingest(traffic, event)
    vid = str(event.event_id)
    refused = _confirm(traffic, vid, {"plate": "123ABC02"})
    assert refused.status_code == 409, refused.text
    reasons = " ".join(refused.json()["reasons"])
    assert ("plate_crop.jpg" in reasons) if how == "never uploaded" else ("frame_01_at.jpg is missing" in reasons)
    _nothing_written(traffic, vid)


class HandoffReceiver(PoliceReceiver):
    """The police system holding ONLY public keys: the server's transport key, officers' and cameras' keys."""

    def __init__(self, transport: Any, officers: dict[str, str], cameras: dict[str, str]) -> None:
        super().__init__(public_key=transport)
        self.officers, self.cameras = officers, cameras
        self.verified: list[dict[str, Any]] = []
        self.refused: list[str] = []

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        status, reply = super().handle(path, headers, body)
        if status >= 300:
            return status, reply
        try:
            self.verified.append(verify_handoff(body, self.officers, self.cameras)[0])
        except HandoffError as exc:
            self.refused.append(str(exc))
            return 422, {"error": str(exc)}
        return status, reply


@pytest.fixture
def transport(tmp_path: Path) -> Iterator[tuple[Ed25519PrivateKey, Path]]:
    key = Ed25519PrivateKey.generate()
    pem = tmp_path / "server_transport.pem"
    pem.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    yield key, pem


def _public_registries(traffic: Traffic) -> tuple[dict[str, str], dict[str, str]]:
    admin = {"Authorization": f"Bearer {traffic.settings.admin_token}"}
    operators = traffic.client.get("/api/v1/operators", headers=admin).json()
    devices = traffic.client.get("/api/v1/devices", headers=admin).json()
    officers = {o["operator_id"]: o["public_key"] for o in operators}
    cameras = {d["camera_id"]: d["evidence_public_key"] for d in devices}
    return officers, cameras


def _deliver(traffic: Traffic, receiver: HandoffReceiver, pem: Path) -> None:
    config = PoliceWebhookConfig(url=f"{receiver.url}/violations", signing="ed25519", private_key=pem)
    worker_config = WorkerConfig(backoff_initial_s=1.0, backoff_jitter=0.0, max_attempts=2, lease_s=30.0)
    worker = OutboxWorker(connector(traffic.settings.database), {"police_webhook": PoliceWebhookChannel(config)},
                          worker_config)  # fmt: skip
    try:
        worker.run_once()
    finally:
        worker.close()


def test_the_police_verify_officer_and_camera_signatures_with_public_keys_only(
    traffic: Traffic, transport: tuple[Ed25519PrivateKey, Path]
) -> None:
    vid, event, _ = traffic.post("cam-a")
    assert _confirm(traffic, vid, {"note": "clear"}).status_code == 200
    officers, cameras = _public_registries(traffic)
    receiver = HandoffReceiver(transport[0].public_key(), officers, cameras).start()
    try:
        _deliver(traffic, receiver, transport[1])
    finally:
        receiver.stop()
    assert receiver.rejected == [] and receiver.refused == []
    (handoff,) = receiver.verified
    assert handoff["violation_id"] == vid and handoff["officer"]["username"] == "op-a"
    assert handoff["evidence_sha256"] == event.evidence_sha256 and handoff["plate"] == "123ABC02"
    one = traffic.client.get(f"/api/v1/violations/{vid}", headers=traffic.auth("op-a")).json()
    assert one["handoff"]["officer"]["public_key"] == officers[one["handoff"]["officer"]["operator_id"]]


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("plate", "officer signature: the signature does not verify"),
        ("officer", "not in the receiver's registry of officer keys"),
        ("camera key", "camera manifest: the signature does not verify"),
    ],
)
def test_a_tampered_handoff_fails_at_the_receiver(traffic: Traffic, tamper: str, message: str) -> None:
    vid, _, _ = traffic.post("cam-a")
    assert _confirm(traffic, vid).status_code == 200
    officers, cameras = _public_registries(traffic)
    outer = json.loads(_outbox_bodies(traffic)[0])
    inner = json.loads(outer["handoff"])
    if tamper == "plate":
        inner["plate"] = "999ZZZ99"
        inner["plate_corrected_by_operator"] = True
        outer["handoff"] = json.dumps(inner, sort_keys=True, separators=(",", ":"))
    elif tamper == "officer":
        officers = {}
    else:
        cameras = {"cam-a": public_hex(Ed25519PrivateKey.generate())}
    with pytest.raises(HandoffError, match=message):
        verify_handoff(json.dumps(outer).encode(), officers, cameras)


def test_an_operator_holding_their_own_key_signs_the_exact_handoff_bytes(traffic: Traffic) -> None:
    key = Ed25519PrivateKey.generate()
    admin = {"Authorization": f"Bearer {traffic.settings.admin_token}"}
    body = {"username": "op-own", "password": PASSWORD, "district": "almaty-1", "public_key": public_hex(key)}
    created = traffic.client.post("/api/v1/operators", json=body, headers=admin)
    assert created.status_code == 201 and created.json()["key_custody"] == "client"
    token = traffic.client.post("/api/v1/operators/login", json={"username": "op-own", "password": PASSWORD})
    traffic.tokens["op-own"] = token.json()["token"]
    traffic.client.cookies.clear()
    vid, _, _ = traffic.post("cam-a")
    unsigned = _confirm(traffic, vid, who="op-own")
    assert unsigned.status_code == 409 and "officer signature missing" in unsigned.json()["reasons"]
    draft = traffic.client.get(f"/api/v1/violations/{vid}/handoff", headers=traffic.auth("op-own")).json()
    forged = Ed25519PrivateKey.generate().sign(draft["payload"].encode()).hex()
    wrong = _confirm(traffic, vid, {"signature": forged, "signed_at": draft["signed_at"]}, who="op-own")
    assert wrong.status_code == 409
    _nothing_written(traffic, vid)
    signature = key.sign(draft["payload"].encode()).hex()
    done = _confirm(traffic, vid, {"signature": signature, "signed_at": draft["signed_at"]}, who="op-own")
    assert done.status_code == 200, done.text
    officers, cameras = _public_registries(traffic)
    handoff, manifest = verify_handoff(_outbox_bodies(traffic)[0].encode(), officers, cameras)
    assert handoff["officer"]["username"] == "op-own" and manifest["camera_id"] == "cam-a"


def test_an_operator_without_a_key_is_refused_until_the_admin_issues_one(traffic: Traffic) -> None:
    conn = sqlite3.connect(traffic.settings.database)
    with conn:
        conn.execute("DELETE FROM operator_keys")  # an account created before operator keys
    conn.close()
    vid, _, _ = traffic.post("cam-a")
    refused = _confirm(traffic, vid)
    assert refused.status_code == 409 and "has no signing key" in refused.text
    _nothing_written(traffic, vid)
    admin = {"Authorization": f"Bearer {traffic.settings.admin_token}"}
    issued = traffic.client.post("/api/v1/operators/key", json={"username": "op-a"}, headers=admin)
    assert issued.status_code == 200 and issued.json()["custody"] == "sealed"
    assert _confirm(traffic, vid).status_code == 200
