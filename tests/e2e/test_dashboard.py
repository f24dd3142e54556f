"""The staff dashboard in a real headless browser (Debian chromium via playwright) against a real backend process.

A pupil entering (an EntryEvent POSTed through the real API with the door camera's key) must appear in "inside
now" without a page reload; a door camera reporting itself covered must show on the board, emphasised, at once.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from kuzet.contracts import Attachment, CameraHealthEvent, ClockSource
from tests.support.browser import ARGS, CHROMIUM, E2E, wait_until, watch_csp
from tests.support.events import entry
from tests.support.servers import BackendProcess

SNAPSHOT = Path(__file__).resolve().parents[2] / "samples" / "faces" / "obama_small.jpg"
PASSWORD = "e2e staff password"

pytestmark = E2E


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[tuple[BackendProcess, str]]:
    server = BackendProcess(tmp_path / "backend").start()
    try:
        key = server.register("door-1", "school", "school-1")
        admin = {"Authorization": f"Bearer {server.admin_token}"}
        url = server.url
        posts = [
            ("/api/v1/schools", {"school_id": "school-1", "name": "School No. 1"}, admin),
            (
                "/api/v1/schools/school-1/users",
                {"username": "head", "password": PASSWORD, "role": "school_admin"},
                admin,
            ),
        ]
        for path, body, headers in posts:
            httpx.post(url + path, json=body, headers=headers).raise_for_status()
        token = httpx.post(url + "/api/v1/auth/login", json={"username": "head", "password": PASSWORD}).json()["token"]
        head = {"Authorization": f"Bearer {token}"}
        for path, body in [
            ("/api/v1/schools/school-1/classes", {"class_id": "5a", "name": "5A", "start_time": "08:00"}),
            ("/api/v1/schools/school-1/pupils", {"pupil_id": "p1", "name": "Aruzhan", "class_id": "5a"}),
            ("/api/v1/schools/school-1/users", {"username": "teacher", "password": PASSWORD, "role": "staff"}),
        ]:
            httpx.post(url + path, json=body, headers=head).raise_for_status()
        yield server, key
    finally:
        server.stop()


def test_pupil_entering_appears_inside_now_without_reload(backend: tuple[BackendProcess, str]) -> None:
    from playwright.sync_api import sync_playwright

    server, key = backend
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            csp = watch_csp(page)
            page.goto(server.url + "/schools/school-1/dashboard")  # not logged in: sent to the login form
            page.wait_for_url("**/login")
            page.fill("#username", "teacher")
            page.fill("#password", PASSWORD)
            page.click("#submit")
            page.wait_for_url("**/schools/school-1/dashboard")
            assert page.locator("#inside li").count() == 0
            page.evaluate("window.__noReload = 'still the same page'")

            event = entry("door-1", 0, pupil_id="p1", direction="entered", captured_at=datetime.now(UTC))
            reply = httpx.post(
                server.url + "/api/v1/events",
                json={"events": [event.model_dump(mode="json")]},
                headers={"X-API-Key": key},
            )
            assert reply.status_code == 200, reply.text

            page.wait_for_selector('#inside li[data-pupil="p1"]', timeout=15_000)
            assert "Aruzhan" in page.inner_text("#inside")
            assert page.inner_text("#inside-count") == "1"
            assert page.evaluate("window.__noReload") == "still the same page"

            # an unknown face with its snapshot: listed live, and the image loads through the staff session
            snapshot = SNAPSHOT.read_bytes()
            sha = hashlib.sha256(snapshot).hexdigest()
            headers = {"X-API-Key": key, "Content-Type": "image/jpeg"}
            httpx.put(f"{server.url}/api/v1/media/{sha}", content=snapshot, headers=headers).raise_for_status()
            attachment = Attachment(sha256=sha, media_type="image/jpeg", role="snapshot", size_bytes=len(snapshot))
            stranger = entry(
                "door-1", 1, identity="unknown", pupil_id=None, attachments=(attachment,), captured_at=datetime.now(UTC)
            )
            body = {"events": [stranger.model_dump(mode="json")]}
            httpx.post(server.url + "/api/v1/events", json=body, headers={"X-API-Key": key}).raise_for_status()
            page.wait_for_selector("#unknown img.snap", timeout=15_000)
            wait_until(page, "document.querySelector('#unknown img.snap').naturalWidth > 0", timeout=15_000)
            assert page.evaluate("window.__noReload") == "still the same page"
            assert csp == [], "the login and dashboard pages run under their CSP without a violation"
        finally:
            browser.close()


def health_change(state: str, previous: str, message: str, at: datetime) -> CameraHealthEvent:
    """A health change of door-1 as its monitor sends it."""
    return CameraHealthEvent(
        event_id=uuid.uuid4(),
        camera_id="door-1",
        captured_at=at,
        clock_source=ClockSource.NTP,
        state=state,  # type: ignore[arg-type]
        active=() if state == "healthy" else (state,),  # type: ignore[arg-type]
        previous=previous,  # type: ignore[arg-type]
        since=at - timedelta(seconds=3),
        message=message,
    )


def test_a_covered_door_camera_shows_on_the_board_at_a_glance(backend: tuple[BackendProcess, str]) -> None:
    from playwright.sync_api import sync_playwright

    server, key = backend
    door = '#cameras li[data-camera="door-1"]'
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            page.goto(server.url + "/schools/school-1/dashboard")
            page.wait_for_url("**/login")
            page.fill("#username", "teacher")
            page.fill("#password", PASSWORD)
            page.click("#submit")
            page.wait_for_url("**/schools/school-1/dashboard")
            assert page.get_attribute(door, "data-state") == "unknown"  # registered, no health report yet
            assert page.inner_text("#cameras-warning") == ""
            calm = page.evaluate(f"getComputedStyle(document.querySelector('{door}')).backgroundColor")
            page.evaluate("window.__noReload = 'still the same page'")

            now = datetime.now(UTC)
            covered = health_change("covered", "healthy", "Lens covered or dark: uncover the camera", now)
            body = {"events": [covered.model_dump(mode="json")]}
            httpx.post(server.url + "/api/v1/events", json=body, headers={"X-API-Key": key}).raise_for_status()

            page.wait_for_selector(f'{door}.camera-alert[data-state="covered"]', timeout=15_000)
            assert "Lens covered or dark: uncover the camera" in page.inner_text(door)
            assert "door-1" in page.inner_text("#cameras-warning") and page.is_visible("#cameras-warning")
            alarmed = page.evaluate(f"getComputedStyle(document.querySelector('{door}')).backgroundColor")
            assert alarmed != calm  # emphasised, not only worded
            assert page.evaluate("window.__noReload") == "still the same page"
            page.reload()  # the server-rendered page says the same
            assert page.get_attribute(door, "class") == "camera-alert"
            assert "door-1" in page.inner_text("#cameras-warning")

            healthy = health_change("healthy", "covered", "", now + timedelta(seconds=20))
            body = {"events": [healthy.model_dump(mode="json")]}
            httpx.post(server.url + "/api/v1/events", json=body, headers={"X-API-Key": key}).raise_for_status()
            page.wait_for_selector(f'{door}[data-state="healthy"]:not(.camera-alert)', timeout=15_000)
            assert page.inner_text("#cameras-warning") == "" and not page.is_visible("#cameras-warning")
        finally:
            browser.close()
