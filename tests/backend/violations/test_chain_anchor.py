"""The backend anchors each camera's evidence chain head: truncation, rollback and forks are detected and recorded,
and the review API gives the page everything it shows (clip, annotated still, verification, speed, signal)."""

from __future__ import annotations

import json
import shutil

from edge.traffic.evidence import HEAD, head_body, load_or_create_key, manifest_sha256
from edge.traffic.evidence_verify import list_packages
from tests.backend.violations.conftest import Traffic, upload
from tests.backend.violations.evidence import make_package


def _truncate(traffic: Traffic, camera: str, keep: int) -> None:
    """The device's chain cut back to its first ``keep`` packages, ``HEAD`` rewritten AND re-signed with the
    camera's own key (the strongest local attacker: they hold the device)."""
    chain = traffic.root / "chains" / camera
    packages = list_packages(chain)
    for package in packages[keep:]:
        shutil.rmtree(package)
    last = packages[keep - 1]
    manifest = json.loads((last / "manifest.json").read_bytes())
    key = load_or_create_key(traffic.root / "keys", camera)
    body = head_body(keep, manifest_sha256(last), camera, manifest["public_key"])
    (chain / HEAD).write_text(json.dumps({**json.loads(body), "signature": key.sign(body).hex()}))


def test_truncating_the_newest_packages_is_detected_by_the_backend(traffic: Traffic) -> None:
    ids = [traffic.post("cam-a")[0] for _ in range(3)]
    admin = {"Authorization": f"Bearer {traffic.settings.admin_token}"}
    state = traffic.client.get("/api/v1/devices/cam-a/evidence", headers=admin).json()
    assert state["head"]["seq"] == 3 and state["head"]["violation_id"] == ids[-1] and state["conflicts"] == []
    _truncate(traffic, "cam-a", keep=1)
    reported = {"seq": 1, "manifest_sha256": manifest_sha256(list_packages(traffic.root / "chains" / "cam-a")[0])}
    check = traffic.client.post(
        "/api/v1/devices/evidence-head", json=reported, headers={"X-API-Key": traffic.keys["cam-a"]}
    )
    assert check.status_code == 409 and check.json()["anchored_seq"] == 3, check.text
    rewritten, _, _ = traffic.post("cam-a")  # the device writes a new seq 2 over the removed ones
    one = traffic.client.get(f"/api/v1/violations/{rewritten}", headers=traffic.auth("op-a")).json()
    assert one["evidence_status"].startswith("chain rollback: package sequence 2 is not after the anchored head 3")
    refused = traffic.client.post(f"/api/v1/violations/{rewritten}/confirm", json={}, headers=traffic.auth("op-a"))
    assert refused.status_code == 409 and "chain rollback" in refused.text
    kinds = [c["kind"] for c in traffic.client.get("/api/v1/devices/cam-a/evidence", headers=admin).json()["conflicts"]]
    assert sorted(kinds) == ["reported_head", "rollback"]
    assert traffic.client.get("/api/v1/devices/cam-a/evidence", headers=admin).json()["head"]["seq"] == 3


def test_a_fork_is_flagged_and_a_gap_recorded_but_not_blocking(traffic: Traffic) -> None:
    traffic.post("cam-a")
    skipped, _ = make_package(traffic.root, "cam-a")  # seq 2 never reaches the backend
    assert skipped.evidence_sha256
    after_gap, _, _ = traffic.post("cam-a")  # seq 3
    auth = traffic.auth("op-a")
    assert traffic.client.get(f"/api/v1/violations/{after_gap}", headers=auth).json()["evidence_status"] == "verified"
    admin = {"Authorization": f"Bearer {traffic.settings.admin_token}"}
    state = traffic.client.get("/api/v1/devices/cam-a/evidence", headers=admin).json()
    assert [(c["kind"], c["detail"]) for c in state["conflicts"]] == [("gap", "packages 2..2 were never received")]
    other_root = traffic.root / "fork"
    shutil.copytree(traffic.root / "keys", other_root / "keys")
    for _ in range(4):  # a second chain with the same key: its seq 4 links to ITS seq 3, not the anchored one
        event, media = make_package(other_root, "cam-a")
    upload(traffic.client, traffic.keys["cam-a"], event, media)
    forked = traffic.client.get(f"/api/v1/violations/{event.event_id}", headers=auth).json()["evidence_status"]
    assert forked == "chain fork: package 4 does not link to the anchored package 3"


def test_the_review_api_gives_the_page_clip_annotated_still_and_verification(traffic: Traffic) -> None:
    event, media = make_package(traffic.root, "cam-a", clip=True)
    upload(traffic.client, traffic.keys["cam-a"], event, media)
    one = traffic.client.get(f"/api/v1/violations/{event.event_id}", headers=traffic.auth("op-a")).json()
    review = one["review"]
    assert review["verification"] == {"verified": True, "status": "verified"}
    assert review["speed"] == {"kmh": 31.5, "sigma_kmh": 1.2}
    assert review["signal"]["state"] == "red" and review["chain"]["seq"] == 1
    for purpose in ("clip", "clip_annotated", "annotated", "plate_crop"):
        assert review["media"][purpose], purpose
    assert set(review["media"]["frames"]) == {"before", "at", "after"}
    clip = traffic.client.get(review["media"]["clip_annotated"], headers=traffic.auth("op-a"))
    assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4" and clip.content[4:8] == b"ftyp"
    still = traffic.client.get(review["media"]["annotated"], headers=traffic.auth("op-a"))
    assert still.status_code == 200 and still.content[:2] == b"\xff\xd8"
