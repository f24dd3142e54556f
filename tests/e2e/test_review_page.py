"""The operator review page in a real headless browser (Debian chromium via playwright) against a real backend.

A traffic camera posts a signed violation package through the real API (media, then the ViolationEvent); an
operator of the camera's district logs in, sees it in the queue, opens the evidence viewer (frames, plate crop,
the track path drawn over the frame), confirms it; the outbox worker then delivers exactly one signed webhook to a
local police receiver, whose signature verifies, and the page shows the delivery as sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.db import connector
from edge.traffic.evidence_keys import load_or_create_key, public_hex
from notifications.channels.police_webhook import DELIVERY, PoliceWebhookChannel, verify
from notifications.config import PoliceWebhookConfig, WorkerConfig
from notifications.worker import OutboxWorker
from tests.backend.violations.evidence import make_package
from tests.e2e.world import TEXTS, english_left, screenshot, switch_language
from tests.notifications.servers import PoliceReceiver
from tests.support.browser import ARGS, CHROMIUM, E2E, wait_until, watch_csp
from tests.support.servers import BackendProcess

PASSWORD = "e2e operator password"
SECRET = "police-shared-secret-0123456789abcdef"

pytestmark = E2E


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[tuple[BackendProcess, str]]:
    server = BackendProcess(tmp_path / "backend").start(timeout=120)  # slow to import on a loaded machine
    try:
        admin = {"Authorization": f"Bearer {server.admin_token}"}
        for name, district in (("aigerim", "almaty-1"), ("other", "astana-2")):
            body = {"username": name, "password": PASSWORD, "district": district}
            httpx.post(server.url + "/api/v1/operators", json=body, headers=admin, timeout=60).raise_for_status()
        evidence_key = public_hex(load_or_create_key(tmp_path / "edge" / "keys", "junction-7"))  # no trust on first use
        body = {"camera_id": "junction-7", "kind": "traffic", "site": "almaty-1", "evidence_public_key": evidence_key}
        reply = httpx.post(server.url + "/api/v1/devices", json=body, headers=admin, timeout=60)
        yield server, reply.raise_for_status().json()["api_key"]
    finally:
        server.stop()


def _post_violation(server: BackendProcess, key: str, root: Path, clip: bool = False) -> str:
    event, media = make_package(root, "junction-7", plate="123ABC02", clip=clip)
    with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60) as client:
        for attachment in event.attachments:
            client.put(
                f"/api/v1/media/{attachment.sha256}",
                content=media[attachment.sha256],
                headers={"Content-Type": attachment.media_type},
            ).raise_for_status()
        reply = client.post("/api/v1/events", json={"events": [event.model_dump(mode="json")]})
        reply.raise_for_status()
    assert reply.json()["accepted"] == [str(event.event_id)]
    return str(event.event_id)


def _deliver(server: BackendProcess, receiver: PoliceReceiver) -> int:
    config = PoliceWebhookConfig.model_validate({"url": receiver.url + "/violations", "secret": SECRET})
    worker = OutboxWorker(
        connector(server.root / "backend.sqlite"),
        {"police_webhook": PoliceWebhookChannel(config)},
        WorkerConfig(max_attempts=3, backoff_initial_s=0.1),
    )
    try:
        return worker.run_once() + worker.run_once()
    finally:
        worker.close()


def test_operator_confirms_and_police_get_one_signed_webhook(
    backend: tuple[BackendProcess, str], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    server, key = backend
    vid = _post_violation(server, key, tmp_path / "edge", clip=True)
    blurred = _post_violation(server, key, tmp_path / "edge")
    receiver = PoliceReceiver(secret=SECRET).start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = browser.new_page()
                csp = watch_csp(page)
                page.goto(server.url + "/review")
                page.wait_for_url("**/review/login")
                page.fill("#username", "aigerim")
                page.fill("#password", PASSWORD)
                page.click("#login-button")
                page.wait_for_url("**/review")
                assert page.locator("#queue tr.violation").count() == 2

                page.click(f"tr[data-id='{blurred}'] a")
                page.wait_for_url(f"**/review/{blurred}")
                page.keyboard.press("r")  # the reject shortcut puts the cursor in the reason
                page.keyboard.type("plate unreadable, glare")
                page.click("#reject")
                wait_until(page, "document.getElementById('state').dataset.state === 'rejected'")
                assert "plate unreadable, glare" in page.inner_text("#state")

                page.goto(server.url + "/review")  # the keyboard: j selects the first queued row, Enter opens it
                page.keyboard.press("j")
                assert page.get_attribute("#queue tr.selected", "data-id") == vid
                page.keyboard.press("Enter")
                page.wait_for_url(f"**/review/{vid}")
                wait_until(page, "['at-frame', 'plate-crop'].every(id => document.getElementById(id).naturalWidth > 0)")
                points = page.get_attribute("#track-path", "points") or ""
                assert len(points.split()) == 13
                assert page.get_attribute("#evidence", "data-status") == "verified"
                wait_until(page, "!document.getElementById('confirm').disabled")  # verified and a plate: enabled
                assert "±" in page.inner_text("#speed")  # the speed with its uncertainty
                assert page.is_visible("#clip") and "/media/" in (page.get_attribute("#clip", "src") or "")
                clip = "document.getElementById('clip')"
                clip_state = f"(v => [v.readyState, v.error && v.error.message, v.videoWidth])({clip})"
                wait_until(page, f"(s => s[0] >= 2 || s[1])({clip_state})")
                played = page.evaluate(clip_state)  # H.264 decodes in Debian's chromium (mp4v: "no supported streams")
                assert played[0] >= 2 and played[1] is None and played[2] > 0, f"the clip plays in place: {played}"
                assert page.locator("#clip-overlay polyline.track").count() == 1  # the track over the clip
                assert page.get_attribute("#vehicle-box", "width") not in (None, "0")
                page.keyboard.press("z")
                assert "zoomed" in (page.get_attribute("#plate-crop", "class") or "")
                assert page.inner_text("#plate") == "123ABC02"
                page.fill("#plate-input", "128 ABC 02")
                page.click("#correct")
                wait_until(page, "document.getElementById('plate').textContent === '128ABC02'")
                assert page.inner_text("#plate-read").startswith("123ABC02")
                wait_until(page, "!document.getElementById('confirm').disabled")
                page.keyboard.press("c")  # confirm from the keyboard
                wait_until(page, "document.getElementById('state').dataset.state === 'confirmed'")
                assert page.get_attribute("#delivery", "data-status") == "pending"
                actions = [a.get_attribute("data-action") for a in page.locator("#audit td:nth-child(3)").all()]
                assert [a for a in actions if a != "view"] == ["correct_plate", "confirm"]

                assert _deliver(server, receiver) == 1
                page.reload()
                assert page.get_attribute("#delivery", "data-status") == "sent"
                assert csp == [], "the review pages run under their CSP without a violation"
                assert page.locator("#confirm").count() == 0
                page.goto(server.url + "/review")
                assert page.locator("#queue tr.violation").count() == 0
                leftovers = {}
                for lang in ("kk", "ru", "en"):  # a screenshot per page and language; no English left on kk/ru
                    for name, path in (("review-queue", "/review"), ("review-violation", f"/review/{vid}")):
                        page.goto(server.url + path)
                        if page.evaluate("document.documentElement.lang") != lang:
                            switch_language(page, lang)
                        screenshot(page, f"{name}-{lang}")
                        location = ("Synthetic junction approach (rendered demo scene)",)  # data, as set up
                        if lang != "en" and (found := english_left(page.evaluate(TEXTS), lang, location)):
                            leftovers[f"{name}/{lang}"] = found
                assert not leftovers, f"English left on kk/ru review pages: {leftovers}"
                assert csp == [], "the review pages run under their CSP without a violation"
            finally:
                browser.close()
    finally:
        receiver.stop()

    assert receiver.rejected == [] and receiver.requests == 1
    assert [r.recipient for r in receiver.received] == [f"police:{vid}"]
    got = receiver.received[0]
    verify(got.text.encode(), got.headers, secret=SECRET)  # the receiver's own check, repeated here: must not raise
    assert got.headers[DELIVERY] == f"police:{vid}"
    body = json.loads(json.loads(got.text)["handoff"])  # the officer-signed hand-off inside the webhook
    assert (body["violation_id"], body["violation"], body["plate"]) == (vid, "red_light", "128ABC02")
    assert (body["plate_read"], body["plate_corrected_by_operator"]) == ("123ABC02", True)
    assert (body["district"], body["camera_id"], body["officer"]["username"]) == ("almaty-1", "junction-7", "aigerim")


def test_operator_of_another_district_sees_an_empty_queue(backend: tuple[BackendProcess, str], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    server, key = backend
    vid = _post_violation(server, key, tmp_path / "edge")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            page.goto(server.url + "/review/login")
            page.fill("#username", "other")
            page.fill("#password", PASSWORD)
            page.click("#login-button")
            page.wait_for_url("**/review")
            assert page.locator("#empty").count() == 1
            response = page.goto(f"{server.url}/review/{vid}")
            assert response is not None and response.status == 404
        finally:
            browser.close()
