"""Operator review API on a real app and SQLite file: ingest, district isolation, decisions, audit, outbox."""

from __future__ import annotations

import json
import sqlite3

import pytest

from backend.services.violations import VERIFIED
from kuzet.contracts import ViolationEvent
from tests.backend.violations.conftest import PASSWORD, Traffic, upload
from tests.backend.violations.evidence import make_package


def _rows(traffic: Traffic, sql: str, *args: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(traffic.settings.database)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_ingested_violation_is_queued_with_verified_evidence(traffic: Traffic) -> None:
    vid, event, _ = traffic.post("cam-a")
    queue = traffic.client.get("/api/v1/violations", headers=traffic.auth("op-a")).json()
    assert [v["violation_id"] for v in queue] == [vid]
    one = traffic.client.get(f"/api/v1/violations/{vid}", headers=traffic.auth("op-a")).json()
    assert one["state"] == "queued" and one["district"] == "almaty-1"
    assert one["evidence_status"] == VERIFIED and one["evidence_sha256"] == event.evidence_sha256
    assert {"frame_01_at", "plate_crop", "manifest", "signature", "track"} <= {f["role"] for f in one["files"]}
    assert len(one["overlay"]["path"]) == 13 and (one["overlay"]["width"], one["overlay"]["height"]) == (640, 360)
    crop = next(f for f in one["files"] if f["role"] == "plate_crop")
    image = traffic.client.get(f"/api/v1/violations/{vid}/media/{crop['sha256']}", headers=traffic.auth("op-a"))
    assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"


def test_replayed_violation_event_is_stored_once(traffic: Traffic) -> None:
    vid, event, media = traffic.post("cam-a")
    again = upload(traffic.client, traffic.keys["cam-a"], event, media)
    assert again == {"accepted": [], "duplicates": [vid], "repeated": []}
    assert _rows(traffic, "SELECT COUNT(*) FROM violations WHERE violation_id = ?", vid) == [(1,)]
    assert len(traffic.client.get("/api/v1/violations", headers=traffic.auth("op-a")).json()) == 1


def _forge(event: ViolationEvent, other: ViolationEvent, how: str) -> ViolationEvent:
    """``event`` with one thing taken from ``other`` (another package of the same camera)."""
    if how == "manifest hash":
        return event.model_copy(update={"evidence_sha256": other.evidence_sha256})
    if how == "signature":
        swap = {a.role: a for a in other.attachments}["signature"]
        return event.model_copy(
            update={"attachments": tuple(swap if a.role == "signature" else a for a in event.attachments)}
        )
    return event.model_copy(update={"attachments": tuple(a for a in event.attachments if a.role != "plate_crop")})


@pytest.mark.parametrize(
    ("how", "status"),
    [
        ("manifest hash", "the manifest attachment is not the package named by evidence_sha256"),
        ("signature", "the manifest signature does not verify with the key in the manifest"),
        ("dropped file", "listed files missing or changed: plate_crop.jpg"),
    ],
)
def test_tampered_evidence_is_flagged_not_verified(traffic: Traffic, how: str, status: str) -> None:
    event, media = make_package(traffic.root, "cam-a")
    other, other_media = make_package(traffic.root, "cam-a")
    upload(traffic.client, traffic.keys["cam-a"], _forge(event, other, how), {**media, **other_media})
    one = traffic.client.get(f"/api/v1/violations/{event.event_id}", headers=traffic.auth("op-a")).json()
    assert one["evidence_status"] == status


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "", None),
        ("get", "/audit", None),
        ("post", "/confirm", {}),
        ("post", "/reject", {"reason": "not mine"}),
        ("post", "/plate", {"plate": "777AAA01"}),
    ],
)
def test_other_district_operator_sees_nothing(
    traffic: Traffic, method: str, path: str, body: dict[str, str] | None
) -> None:
    vid, _, _ = traffic.post("cam-a")
    assert traffic.client.get("/api/v1/violations?state=all", headers=traffic.auth("op-b")).json() == []
    kwargs = {"json": body} if body is not None else {}
    response = getattr(traffic.client, method)(
        f"/api/v1/violations/{vid}{path}", headers=traffic.auth("op-b"), **kwargs
    )
    assert response.status_code in (403, 404), response.text
    assert _rows(traffic, "SELECT state, plate_corrected FROM violations") == [("queued", None)]
    assert _rows(traffic, "SELECT COUNT(*) FROM outbox") == [(0,)]
    assert _rows(traffic, "SELECT COUNT(*) FROM violation_audit") == [(0,)]


def test_other_district_cannot_fetch_evidence_media(traffic: Traffic) -> None:
    vid, event, _ = traffic.post("cam-a")
    sha = event.attachments[0].sha256
    response = traffic.client.get(f"/api/v1/violations/{vid}/media/{sha}", headers=traffic.auth("op-b"))
    assert response.status_code == 404


def test_each_operator_sees_only_their_district(traffic: Traffic) -> None:
    a, _, _ = traffic.post("cam-a")
    b, _, _ = traffic.post("cam-b")
    assert [
        v["violation_id"] for v in traffic.client.get("/api/v1/violations", headers=traffic.auth("op-a")).json()
    ] == [a]
    assert [
        v["violation_id"] for v in traffic.client.get("/api/v1/violations", headers=traffic.auth("op-b")).json()
    ] == [b]


def test_requests_without_a_session_are_refused(traffic: Traffic) -> None:
    assert traffic.client.get("/api/v1/violations").status_code == 401
    assert traffic.client.get("/api/v1/violations", headers={"Authorization": "Bearer nope"}).status_code == 401
    bad = traffic.client.post("/api/v1/operators/login", json={"username": "op-a", "password": PASSWORD + "x"})
    assert bad.status_code == 401


def test_confirm_queues_exactly_one_police_message(traffic: Traffic) -> None:
    vid, event, _ = traffic.post("cam-a")
    response = traffic.client.post(
        f"/api/v1/violations/{vid}/confirm", json={"note": "clear"}, headers=traffic.auth("op-a")
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "confirmed" and response.json()["delivery"]["status"] == "pending"
    again = traffic.client.post(f"/api/v1/violations/{vid}/confirm", json={}, headers=traffic.auth("op-a"))
    assert again.status_code == 409
    rows = _rows(traffic, "SELECT channel, dedupe_key, body FROM outbox")
    assert [(r[0], r[1]) for r in rows] == [("police_webhook", f"police:{vid}")]
    body = json.loads(str(rows[0][2]))
    handoff = json.loads(body["handoff"])
    assert body["violation_id"] == vid and handoff["plate"] == "123ABC02" and handoff["officer"]["username"] == "op-a"
    assert handoff["evidence_sha256"] == event.evidence_sha256 and handoff["district"] == "almaty-1"
    assert traffic.client.get("/api/v1/violations", headers=traffic.auth("op-a")).json() == []


def test_reject_with_reason_sends_nothing(traffic: Traffic) -> None:
    vid, _, _ = traffic.post("cam-a")
    short = traffic.client.post(f"/api/v1/violations/{vid}/reject", json={"reason": ""}, headers=traffic.auth("op-a"))
    assert short.status_code == 422
    response = traffic.client.post(
        f"/api/v1/violations/{vid}/reject", json={"reason": "emergency vehicle"}, headers=traffic.auth("op-a")
    )
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["reject_reason"]) == ("rejected", "emergency vehicle")
    assert (
        traffic.client.post(f"/api/v1/violations/{vid}/confirm", json={}, headers=traffic.auth("op-a")).status_code
        == 409
    )
    assert _rows(traffic, "SELECT COUNT(*) FROM outbox") == [(0,)]
    rejected = traffic.client.get("/api/v1/violations?state=rejected", headers=traffic.auth("op-a")).json()
    assert [v["violation_id"] for v in rejected] == [vid]


def test_plate_correction_keeps_the_original_read(traffic: Traffic) -> None:
    vid, _, _ = traffic.post("cam-a", plate="123ABC02")
    bad = traffic.client.post(
        f"/api/v1/violations/{vid}/plate", json={"plate": "12 ?? 3"}, headers=traffic.auth("op-a")
    )
    assert bad.status_code == 422
    response = traffic.client.post(
        f"/api/v1/violations/{vid}/plate", json={"plate": "128 abc-02"}, headers=traffic.auth("op-a")
    )
    assert response.status_code == 200, response.text
    one = response.json()
    assert (one["plate_read"], one["plate_corrected"], one["plate"]) == ("123ABC02", "128ABC02", "128ABC02")
    traffic.client.post(f"/api/v1/violations/{vid}/confirm", json={}, headers=traffic.auth("op-a"))
    body = json.loads(json.loads(str(_rows(traffic, "SELECT body FROM outbox")[0][0]))["handoff"])
    assert (body["plate"], body["plate_read"], body["plate_corrected_by_operator"]) == ("128ABC02", "123ABC02", True)
    late = traffic.client.post(
        f"/api/v1/violations/{vid}/plate", json={"plate": "999ZZZ01"}, headers=traffic.auth("op-a")
    )
    assert late.status_code == 409


def test_every_action_is_audited_with_who_and_when(traffic: Traffic) -> None:
    first, _, _ = traffic.post("cam-a")
    second, _, _ = traffic.post("cam-a")
    auth = traffic.auth("op-a")
    traffic.client.get(f"/api/v1/violations/{first}", headers=auth)
    traffic.client.post(f"/api/v1/violations/{first}/plate", json={"plate": "555KKK05"}, headers=auth)
    traffic.client.post(f"/api/v1/violations/{first}/confirm", json={"note": "ok"}, headers=auth)
    traffic.client.post(f"/api/v1/violations/{second}/reject", json={"reason": "blurred"}, headers=auth)
    trail = traffic.client.get(f"/api/v1/violations/{first}/audit", headers=auth).json()
    assert [(a["username"], a["action"], a["detail"]) for a in trail] == [
        ("op-a", "view", ""),
        ("op-a", "correct_plate", "123ABC02 -> 555KKK05"),
        ("op-a", "confirm", "ok"),
    ]
    assert all(a["at"] and a["district"] == "almaty-1" for a in trail)
    assert [
        (a["action"], a["detail"])
        for a in traffic.client.get(f"/api/v1/violations/{second}/audit", headers=auth).json()
    ] == [("reject", "blurred")]


def test_operator_creation_needs_the_admin_token(traffic: Traffic) -> None:
    body = {"username": "op-c", "password": PASSWORD, "district": "almaty-1"}
    assert traffic.client.post("/api/v1/operators", json=body).status_code == 401
    assert traffic.client.post("/api/v1/operators", json=body, headers=traffic.auth("op-a")).status_code == 401
    duplicate = {**body, "username": "op-a"}
    admin = {"Authorization": f"Bearer {traffic.settings.admin_token}"}
    assert traffic.client.post("/api/v1/operators", json=duplicate, headers=admin).status_code == 409


def test_a_violation_from_a_school_camera_is_not_queued(traffic: Traffic) -> None:
    admin = {"Authorization": f"Bearer {traffic.settings.admin_token}"}
    body = {"camera_id": "door-9", "kind": "school", "site": "almaty-1"}
    key = traffic.client.post("/api/v1/devices", json=body, headers=admin).json()["api_key"]
    event, media = make_package(traffic.root, "door-9")
    assert upload(traffic.client, key, event, media)["accepted"] == [str(event.event_id)]
    assert _rows(traffic, "SELECT COUNT(*) FROM violations") == [(0,)]


def test_the_queue_page_needs_a_login_and_lists_the_district_queue(traffic: Traffic) -> None:
    vid, _, _ = traffic.post("cam-a")
    traffic.post("cam-b")
    redirect = traffic.client.get("/review", follow_redirects=False)
    assert (redirect.status_code, redirect.headers["location"]) == (303, "/review/login")
    traffic.client.cookies.set("kuzet_session", traffic.tokens["op-a"])
    page = traffic.client.get("/review")
    assert page.status_code == 200 and page.text.count('class="violation"') == 1 and vid in page.text
    viewer = traffic.client.get(f"/review/{vid}")
    assert viewer.status_code == 200 and 'id="track-path"' in viewer.text and 'id="confirm"' in viewer.text


def test_a_disabled_operator_is_logged_out_and_cannot_log_in(traffic: Traffic) -> None:
    admin = {"Authorization": f"Bearer {traffic.settings.admin_token}"}
    listed = traffic.client.get("/api/v1/operators", headers=admin).json()
    assert [(o["username"], o["district"], o["disabled_at"]) for o in listed] == [
        ("op-a", "almaty-1", None),
        ("op-b", "astana-2", None),
    ]
    assert "password_hash" not in listed[0]
    assert traffic.client.post("/api/v1/operators/disable", json={"username": "op-a"}).status_code == 401
    assert traffic.client.post("/api/v1/operators/disable", json={"username": "op-a"}, headers=admin).status_code == 204
    assert traffic.client.get("/api/v1/violations", headers=traffic.auth("op-a")).status_code == 401
    again = traffic.client.post("/api/v1/operators/login", json={"username": "op-a", "password": PASSWORD})
    assert again.status_code == 401
    assert traffic.client.get("/api/v1/violations", headers=traffic.auth("op-b")).status_code == 200


def test_a_package_signed_with_another_key_is_flagged_until_the_admin_registers_it(traffic: Traffic) -> None:
    first, _, _ = traffic.post("cam-a")
    (traffic.root / "keys" / "cam-a.ed25519").rename(traffic.root / "keys" / "old.ed25519")
    (traffic.root / "keys" / "cam-a.ed25519.pub").unlink()
    swapped, _, _ = traffic.post("cam-a")  # the edge generated a new key: the package verifies, the key is wrong
    auth = traffic.auth("op-a")
    status = traffic.client.get(f"/api/v1/violations/{swapped}", headers=auth).json()["evidence_status"]
    assert status.startswith("signed with key ") and "not the camera's registered key" in status
    assert traffic.client.get(f"/api/v1/violations/{first}", headers=auth).json()["evidence_status"] == VERIFIED
    admin = {"Authorization": f"Bearer {traffic.settings.admin_token}"}
    new_key = (traffic.root / "keys" / "cam-a.ed25519.pub").read_text().strip()
    url = "/api/v1/devices/cam-a/evidence-key"
    assert traffic.client.put(url, json={"public_key": new_key}, headers=auth).status_code == 401
    registered = traffic.client.put(url, json={"public_key": new_key}, headers=admin)
    assert registered.status_code == 200 and registered.json()["evidence_public_key"] == new_key
    later, _, _ = traffic.post("cam-a")
    assert traffic.client.get(f"/api/v1/violations/{later}", headers=auth).json()["evidence_status"] == VERIFIED


def test_a_camera_without_a_registered_key_is_never_trusted_on_first_use(traffic: Traffic) -> None:
    admin = {"Authorization": f"Bearer {traffic.settings.admin_token}"}
    body = {"camera_id": "cam-new", "kind": "traffic", "site": "almaty-1"}
    key = traffic.client.post("/api/v1/devices", json=body, headers=admin).json()["api_key"]
    event, media = make_package(traffic.root, "cam-new")
    upload(traffic.client, key, event, media)
    one = traffic.client.get(f"/api/v1/violations/{event.event_id}", headers=traffic.auth("op-a")).json()
    assert one["evidence_status"] == "the camera has no registered evidence key: the signer cannot be trusted"


def test_media_ownership_rows(traffic: Traffic) -> None:
    """Own violation + another district's file, by the API and by a reference written straight to the database, and
    a camera citing another district's upload: every one refused, the same 404 as a hash that does not exist."""
    a, event_a, media_a = traffic.post("cam-a")
    b, event_b, _ = traffic.post("cam-b")
    own_shas = {x.sha256 for x in event_a.attachments}
    foreign = next(x.sha256 for x in event_b.attachments if x.sha256 not in own_shas)  # e.g. b's signed manifest
    head = traffic.auth("op-a")
    assert traffic.client.get(f"/api/v1/violations/{a}/media/{foreign}", headers=head).status_code == 404
    assert traffic.client.get(f"/api/v1/violations/{b}/media/{foreign}", headers=head).status_code == 404
    conn = sqlite3.connect(traffic.settings.database)
    with conn:
        insert = "INSERT INTO violation_files(violation_id, role, sha256, media_type) VALUES (?, 'frame_z', ?, ?)"
        conn.execute(insert, (a, foreign, "image/jpeg"))
    conn.close()
    assert traffic.client.get(f"/api/v1/violations/{a}/media/{foreign}", headers=head).status_code == 404
    assert traffic.client.get(f"/api/v1/violations/{a}/media/{'e' * 64}", headers=head).status_code == 404
    shown = traffic.client.get(f"/api/v1/violations/{a}", headers=head).json()
    assert foreign not in {f["sha256"] for f in shown["files"]}
    own = next(x for x in event_a.attachments if x.media_type == "image/jpeg")
    reply = traffic.client.get(f"/api/v1/violations/{a}/media/{own.sha256}", headers=head)
    assert reply.status_code == 200 and reply.content == media_a[own.sha256]
    stolen, media = make_package(traffic.root, "cam-a")
    theirs = next(x for x in event_b.attachments if x.sha256 == foreign)
    stolen = stolen.model_copy(update={"attachments": (*stolen.attachments, theirs)})
    for attachment in stolen.attachments[:-1]:
        headers = {"X-API-Key": traffic.keys["cam-a"], "Content-Type": attachment.media_type}
        traffic.client.put(f"/api/v1/media/{attachment.sha256}", content=media[attachment.sha256], headers=headers)
    body = {"events": [stolen.model_dump(mode="json")]}
    refused = traffic.client.post("/api/v1/events", json=body, headers={"X-API-Key": traffic.keys["cam-a"]})
    assert refused.status_code == 422 and "astana-2" not in refused.text and "almaty-1" in refused.text


def test_the_review_page_of_another_districts_violation_is_not_found(traffic: Traffic) -> None:
    b, _, _ = traffic.post("cam-b")
    page = traffic.client.get(f"/review/{b}", headers=traffic.auth("op-a"), follow_redirects=False)
    assert page.status_code == 404 and "astana" not in page.text
    assert _rows(traffic, "SELECT COUNT(*) FROM violation_audit") == [(0,)]
