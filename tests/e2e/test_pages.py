"""Every school page in headless Chromium against one seeded backend (``tests/e2e/world.py``): a screenshot per
page and language, no English left on a Kazakh or Russian page (scanned against the catalogue), no CSP violation,
and the flows of issue 17: staff in Kazakh see an arrival within 2 s of ingest without reloading; a parent's
one-tap withdrawal deletes the templates and the next door sync carries none; an admin enrols a pupil with one
refused and one accepted photo; the monthly report as HTML, CSV and PDF (pdftoppm)."""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from backend.web.i18n import catalogue
from edge.config import UplinkConfig
from edge.school.gallery import Gallery, GalleryFile
from edge.school.sync import GalleryClient, sync_gallery
from kuzet.contracts import Attachment, CameraHealthEvent, ClockSource
from models.faces.sface import SFACE_MODEL
from tests.e2e.world import (
    PEOPLE,
    ROOT,
    SCHOOL,
    TEXTS,
    PagesWorld,
    build,
    english_left,
    log_in,
    open_as,
    screenshot,
    switch_language,
)
from tests.support.browser import ARGS, CHROMIUM, E2E, wait_until, watch_csp
from tests.support.events import entry

pytestmark = E2E


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PagesWorld]:
    built = build(tmp_path_factory.mktemp("pages") / "backend")
    try:
        yield built
    finally:
        built.server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def as_user(browser: Any, world: PagesWorld) -> Iterator[Any]:
    """``as_user(who, **context)``: a page logged in as ``who``; its context is closed after the test."""
    opened: list[Any] = []

    def open_page(who: str, **context: Any) -> Any:
        opened.append(open_as(browser, world, who, **context))
        return opened[-1]

    yield open_page
    for page in opened:
        page.context.close()


def test_every_page_in_every_language_with_no_english_left(world: PagesWorld, browser: Any) -> None:
    staff_pages = {
        "board": f"/schools/{SCHOOL}/dashboard",
        "pupil": f"/schools/{SCHOOL}/pupils/obama?day=2026-11-02",
        "report": f"/schools/{SCHOOL}/reports/monthly?month=2026-11",
        "admin": f"/schools/{SCHOOL}/admin",
        "enrol": f"/schools/{SCHOOL}/admin/pupils/biden",
    }
    leftovers: dict[str, list[str]] = {}
    for who, home, pages in (
        ("head", f"/schools/{SCHOOL}/dashboard", staff_pages),
        ("parent-obama", "/parents", {"parents": "/parents"}),
    ):
        context = browser.new_context(viewport={"width": 1100, "height": 800})
        page = context.new_page()
        csp = watch_csp(page)
        log_in(page, world.url, who, home)
        for lang in ("kk", "ru", "en"):
            switch_language(page, lang)
            for name, path in pages.items():
                page.goto(world.url + path)
                assert page.evaluate("document.documentElement.lang") == lang, (name, lang)
                screenshot(page, f"{name}-{lang}")
                if lang != "en":
                    leftovers.update({f"{name}/{lang}": found for found in [english_left(page.evaluate(TEXTS), lang)]
                                      if found})  # fmt: skip
        if who == "head":
            page.context.clear_cookies()
            for lang in ("kk", "ru", "en"):  # the login page speaks the language the switch left in its cookie
                page.context.add_cookies([{"name": "kuzet_lang", "value": lang, "url": world.url}])
                page.goto(world.url + "/login")
                assert page.evaluate("document.documentElement.lang") == lang
                screenshot(page, f"login-{lang}")
                if lang != "en":
                    leftovers.update({f"login/{lang}": found for found in [english_left(page.evaluate(TEXTS), lang)]
                                      if found})  # fmt: skip
        assert csp == [], f"CSP violations: {csp}"
        context.close()
    assert not leftovers, f"English left on kk/ru pages: {leftovers}"


def test_phone_layout_has_no_sideways_scroll(world: PagesWorld, as_user: Any) -> None:
    page = as_user("parent-obama", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(world.url + "/parents")
    screenshot(page, "parents-phone")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.locator("button.withdraw, .consent .state-off").count() >= 1


def test_staff_in_kazakh_see_an_arrival_within_two_seconds_without_reloading(world: PagesWorld, as_user: Any) -> None:
    page = as_user("demo-staff")
    page.goto(f"{world.url}/schools/{SCHOOL}/dashboard")
    switch_language(page, "kk")
    assert catalogue("kk")["board.inside_now"] in page.inner_text("#board")
    wait_until(page, "document.getElementById('live').className === 'ok'", timeout=10_000)  # stream connected
    assert page.locator('#inside li[data-pupil="biden"]').count() == 0
    page.evaluate("window.__noReload = 'still the same page'")
    start = time.monotonic()
    world.post_events([entry("door-1", 900, school_id=SCHOOL, pupil_id="biden", captured_at=datetime.now(UTC))])
    page.wait_for_selector('#inside li[data-pupil="biden"]', timeout=2_000)
    elapsed = time.monotonic() - start
    assert elapsed < 2.0, f"the arrival took {elapsed:.2f} s to appear"
    assert page.evaluate("window.__noReload") == "still the same page"
    assert page.evaluate("document.documentElement.lang") == "kk"
    assert "Biden" in page.inner_text("#inside") and int(page.inner_text("#inside-count")) >= 1
    assert page.locator("#timeline rect.bar").count() >= 1
    screenshot(page, "board-live-kk")
    httpx.post(world.url + "/api/v1/me/language", json={"language": "en"}, headers=world.head("demo-staff"), timeout=60)


def _enrol_by_api(world: PagesWorld, pupil: str) -> None:
    photos = [("photos", (p.name, p.read_bytes(), "image/jpeg")) for p in sorted((PEOPLE / pupil).glob("*.jpg"))]
    reply = httpx.post(f"{world.url}/api/v1/schools/{SCHOOL}/pupils/{pupil}/photos", files=photos,
                       headers=world.head(), timeout=120)  # fmt: skip
    assert reply.status_code == 200 and reply.json()["templates"] >= 1, reply.text


def test_a_parent_withdraws_consent_and_the_next_door_sync_drops_the_templates(
    world: PagesWorld, as_user: Any, tmp_path: Path
) -> None:
    _enrol_by_api(world, "obama")
    client = GalleryClient(UplinkConfig(backend_url=world.url, api_key=world.door_key))
    door = Gallery.empty(128, SFACE_MODEL)
    store = GalleryFile(tmp_path / "gallery.bin", tmp_path / "gallery.key")
    sync_gallery(door, SCHOOL, client, store)
    assert "obama" in set(door.pupil_ids.tolist())

    page = as_user("parent-obama")
    page.goto(world.url + "/parents")
    child = page.locator('section.child[data-pupil="obama"]')
    assert child.locator(".consent").get_attribute("data-consent") == "yes"
    child.locator("button.withdraw").click()  # one tap
    wait_until(page, "document.querySelector('section.child .consent').dataset.consent === 'no'", timeout=10_000)
    screenshot(page, "parents-withdrawn")

    me = httpx.get(f"{world.url}/api/v1/schools/{SCHOOL}/pupils/obama", headers=world.head(), timeout=60).json()
    assert (me["consent"], me["templates"]) == (False, 0)
    result = sync_gallery(door, SCHOOL, client, store)
    assert result.removed >= 1 and "obama" not in set(door.pupil_ids.tolist())
    reloaded = store.load(SFACE_MODEL, 128)
    assert "obama" not in set(reloaded.pupil_ids.tolist())
    audit = httpx.get(f"{world.url}/api/v1/schools/{SCHOOL}/audit", headers=world.head(), timeout=60).json()
    assert any(a["action"] == "consent_withdrawn" and a["subject"] == "pupil:obama" for a in audit)


def test_an_admin_enrols_a_pupil_with_one_refused_and_one_accepted_photo(
    world: PagesWorld, as_user: Any, tmp_path: Path
) -> None:
    import cv2

    blank = tmp_path / "wall.jpg"  # no face at all: refused
    cv2.imwrite(str(blank), np.full((480, 640, 3), 180, np.uint8))
    face = PEOPLE / "biden" / "biden.jpg"
    page = as_user("head")
    page.goto(f"{world.url}/schools/{SCHOOL}/admin")
    page.fill("#pupil-id", "aruzhan")
    page.fill("#pupil-name", "Aruzhan")
    page.select_option("#pupil-class", label="5A")
    page.click("#new-pupil button[type=submit]")
    page.wait_for_selector('#pupils tr[data-pupil="aruzhan"]')
    page.fill("#camera-id", "gate-2")  # a door camera: its key is shown once, on this page only
    page.fill("#camera-description", "east gate")
    page.click("#new-camera button[type=submit]")
    page.wait_for_selector("#camera-key:not([hidden])")
    assert page.inner_text("#camera-key-value").startswith("kz_")
    page.reload()
    assert page.locator('#camera-list tr[data-camera="gate-2"]').count() == 1 and not page.is_visible("#camera-key")
    page.click('#pupils tr[data-pupil="aruzhan"] a')
    page.wait_for_url("**/admin/pupils/aruzhan")
    page.fill("#given-by", "Aigerim Nurlanovna")
    page.click("#record-consent")
    wait_until(page, "document.getElementById('consent-state').dataset.consent === 'yes'", timeout=10_000)
    assert "Aigerim Nurlanovna" in page.inner_text("#consent-state")
    switch_language(page, "kk")  # the verdicts in the admin's language
    page.set_input_files("#photos", [str(blank), str(face)])
    wait_until(page, "document.querySelectorAll('#verdicts tbody tr').length === 2", timeout=60_000)
    verdicts = page.eval_on_selector_all("#verdicts tbody tr", "rows => rows.map(r => r.dataset.verdict)")
    assert verdicts == ["refused", "accepted"]
    refused = page.inner_text("#verdicts tbody tr:first-child td:last-child")
    kk = catalogue("kk")
    assert refused.startswith(kk["enrol.refused"]) and kk["enrol.why_none"] in refused, refused
    assert english_left(page.evaluate(TEXTS), "kk") == []
    assert page.is_enabled("#save-photos")
    screenshot(page, "enrol-verdicts")
    page.click("#save-photos")
    wait_until(page, "document.getElementById('enrol-status').dataset.templates === '1'", timeout=60_000)
    me = httpx.get(f"{world.url}/api/v1/schools/{SCHOOL}/pupils/aruzhan", headers=world.head(), timeout=60).json()
    assert (me["consent"], me["templates"]) == (True, 1)
    httpx.post(world.url + "/api/v1/me/language", json={"language": "en"}, headers=world.head(), timeout=60)


def test_the_monthly_report_as_page_csv_and_pdf(world: PagesWorld, as_user: Any, tmp_path: Path) -> None:
    page = as_user("demo-staff")
    page.goto(f"{world.url}/schools/{SCHOOL}/reports/monthly?month=2026-11")
    assert page.inner_text("#school-days") == "21"
    for pupil, (_, present, late, absent) in world.expected.items():
        cells = page.locator(f'tr[data-pupil="{pupil}"] td').all_inner_texts()
        assert [int(c) for c in cells[1:4]] == [present, late, absent], pupil

    text = page.request.get(world.url + (page.get_attribute("#csv", "href") or "")).text()
    rows = {r["pupil_id"]: r for r in csv.DictReader(io.StringIO(text))}
    for pupil, (group, present, late, absent) in world.expected.items():
        row = rows[pupil]
        assert (row["class"], int(row["present"]), int(row["late"]), int(row["absent"])) == (group, present, late,
                                                                                              absent)  # fmt: skip
    classes = sorted({r["class"] for r in rows.values()})

    reply = page.request.get(world.url + (page.get_attribute("#pdf", "href") or ""))
    assert reply.status == 200 and reply.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(reply.body())
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is absent (Debian's poppler-utils; the Makefile installs it): PDF pages not checked")
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=60)
    pngs = sorted(tmp_path.glob("page*.png"))
    assert len(pngs) == len(classes) == 2  # one page per class: 5A, 6B
    for i, png in enumerate(pngs):
        shutil.copy(png, png.parents[0] / f"report-page-{i + 1}.png")
    if shutil.which("pdftotext") is not None:
        layout = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                                check=True, timeout=60).stdout  # fmt: skip
        pages = layout.split("\f")
        for pupil, (group, present, late, absent) in world.expected.items():
            page_text = pages[classes.index(group)]
            name = rows[pupil]["name"]
            line = next(line for line in page_text.splitlines() if line.strip().startswith(name))
            assert line.split()[-3:] == [str(present), str(late), str(absent)], line
    from tests.e2e.world import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(pngs[0], SCREENSHOTS / "report-pdf-page-1.png")


def test_an_unknown_face_shows_live_with_its_snapshot(world: PagesWorld, as_user: Any) -> None:
    page = as_user("demo-staff")
    csp = watch_csp(page)
    page.goto(f"{world.url}/schools/{SCHOOL}/dashboard")
    wait_until(page, "document.getElementById('live').className === 'ok'", timeout=10_000)
    page.evaluate("window.__noReload = 'still the same page'")
    snapshot = (ROOT / "samples" / "faces" / "obama_small.jpg").read_bytes()
    sha = hashlib.sha256(snapshot).hexdigest()
    headers = {"X-API-Key": world.door_key, "Content-Type": "image/jpeg"}
    httpx.put(f"{world.url}/api/v1/media/{sha}", content=snapshot, headers=headers, timeout=60).raise_for_status()
    attachment = Attachment(sha256=sha, media_type="image/jpeg", role="snapshot", size_bytes=len(snapshot))
    stranger = entry("door-1", 901, school_id=SCHOOL, identity="unknown", pupil_id=None, attachments=(attachment,),
                     captured_at=datetime.now(UTC))  # fmt: skip
    world.post_events([stranger])
    page.wait_for_selector("#unknown img.snap", timeout=5_000)
    wait_until(page, "document.querySelector('#unknown img.snap').naturalWidth > 0", timeout=15_000)
    assert page.evaluate("window.__noReload") == "still the same page"
    assert csp == []


def _health(state: str, previous: str, message: str, at: datetime) -> CameraHealthEvent:
    return CameraHealthEvent(
        event_id=uuid.uuid4(), camera_id="door-2", captured_at=at, clock_source=ClockSource.NTP,
        state=state, active=() if state == "healthy" else (state,), previous=previous,  # type: ignore[arg-type]
        since=at - timedelta(seconds=3), message=message,
    )  # fmt: skip


def test_a_covered_door_camera_shows_on_the_board_at_a_glance(world: PagesWorld, as_user: Any) -> None:
    page = as_user("demo-staff")
    door = '#cameras li[data-camera="door-2"]'
    page.goto(f"{world.url}/schools/{SCHOOL}/dashboard")
    wait_until(page, "document.getElementById('live').className === 'ok'", timeout=10_000)
    assert page.get_attribute(door, "data-state") == "unknown"  # registered, no health report yet
    assert page.inner_text("#cameras-warning") == "" and not page.is_visible("#cameras-warning")
    calm = page.evaluate(f"getComputedStyle(document.querySelector('{door}')).backgroundColor")
    page.evaluate("window.__noReload = 'still the same page'")
    now = datetime.now(UTC)
    post = {"X-API-Key": world.gate_key}
    covered = _health("covered", "healthy", "Lens covered or dark: uncover the camera", now)
    httpx.post(world.url + "/api/v1/events", json={"events": [covered.model_dump(mode="json")]},
               headers=post, timeout=60).raise_for_status()  # fmt: skip
    page.wait_for_selector(f'{door}.camera-alert[data-state="covered"]', timeout=5_000)
    assert "Lens covered or dark: uncover the camera" in page.inner_text(door)
    assert "door-2" in page.inner_text("#cameras-warning") and page.is_visible("#cameras-warning")
    assert page.evaluate(f"getComputedStyle(document.querySelector('{door}')).backgroundColor") != calm
    assert page.evaluate("window.__noReload") == "still the same page"
    page.reload()  # the server-rendered page says the same
    assert page.get_attribute(door, "class") == "camera-alert" and "door-2" in page.inner_text("#cameras-warning")
    healthy = _health("healthy", "covered", "", now + timedelta(seconds=20))
    httpx.post(world.url + "/api/v1/events", json={"events": [healthy.model_dump(mode="json")]},
               headers=post, timeout=60).raise_for_status()  # fmt: skip
    page.wait_for_selector(f'{door}[data-state="healthy"]:not(.camera-alert)', timeout=5_000)
    assert page.inner_text("#cameras-warning") == "" and not page.is_visible("#cameras-warning")
