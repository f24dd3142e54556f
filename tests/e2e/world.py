"""A seeded backend world for the page tests: the demo school (``kuzet.demo.seed``), a second class, accounts of
every role, a door camera, and a month (November 2026) of arrivals, served by a real ``kuzet serve`` process."""

from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from backend.web.i18n import catalogue
from kuzet.demo.seed import seed_demo_school
from tests.support.browser import wait_until
from tests.support.events import entry
from tests.support.servers import BackendProcess

SCHOOL = "demo-school"
PASSWORD = "e2e pages password"
MONTH = (2026, 11)
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"  # git-ignored test artefacts
PEOPLE = ROOT / "samples" / "school" / "people"
UTC_OFFSET_H = 5  # Asia/Almaty


@dataclass
class PagesWorld:
    """The running backend and what the tests need to know about its data."""

    server: BackendProcess
    door_key: str
    gate_key: str = ""  # door-2: its health changes do not disturb the other tests' door
    tokens: dict[str, str] = field(default_factory=dict)
    expected: dict[str, tuple[str, int, int, int]] = field(default_factory=dict)  # pupil -> (class, P, L, A)

    @property
    def url(self) -> str:
        return self.server.url

    def head(self, who: str = "head") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def post_events(self, events: list[Any]) -> None:
        body = {"events": [e.model_dump(mode="json") for e in events]}
        reply = httpx.post(self.url + "/api/v1/events", json=body, headers={"X-API-Key": self.door_key}, timeout=30)
        assert reply.status_code == 200 and not reply.json().get("rejected"), reply.text


def _weekdays(year: int, month: int) -> list[date]:
    last = calendar.monthrange(year, month)[1]
    return [date(year, month, d) for d in range(1, last + 1) if date(year, month, d).weekday() < 5]


def _at(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=UTC_OFFSET_H)


def _month_of_arrivals(world: PagesWorld) -> None:
    """Obama every school day (late on Mondays), Biden two days in three, Dana every other day, Alex never."""
    days = _weekdays(*MONTH)
    plan = {
        "obama": [(d, d.weekday() == 0) for d in days],
        "biden": [(d, False) for i, d in enumerate(days) if i % 3 != 0],
        "dana": [(d, i % 4 == 1) for i, d in enumerate(days) if i % 2 == 0],
        "alex_lacamoire": [],
    }
    events = []
    for pupil, arrivals in plan.items():
        for n, (day, late) in enumerate(arrivals):
            at = _at(day, 8, 25) if late else _at(day, 7, 50)
            events.append(entry("door-1", n, school_id=SCHOOL, pupil_id=pupil, captured_at=at))
        late_days = sum(1 for _, late in arrivals if late)
        world.expected[pupil] = ("6B" if pupil == "dana" else "5A", len(arrivals), late_days, len(days) - len(arrivals))
    world.post_events(events)


def build(root: Path) -> PagesWorld:
    """Seed, start and fill the backend (the caller stops ``world.server``)."""
    server = BackendProcess(root)
    seed_demo_school(root / "backend.sqlite", staff_password=PASSWORD)
    server.start(timeout=120)  # a loaded 2-core machine takes a while to import the app
    world = PagesWorld(server, server.register("door-1", "school", SCHOOL), server.register("door-2", "school", SCHOOL))
    admin = {"Authorization": f"Bearer {server.admin_token}"}
    users = f"{world.url}/api/v1/schools/{SCHOOL}/users"
    head = {"username": "head", "password": PASSWORD, "role": "school_admin"}
    httpx.post(users, json=head, headers=admin, timeout=60).raise_for_status()
    world.tokens["head"] = _login(world.url, "head")
    parent = {"username": "parent-obama", "password": PASSWORD, "role": "guardian", "guardian_id": "guardian-obama"}
    httpx.post(users, json=parent, headers=world.head(), timeout=60).raise_for_status()
    for name in ("demo-staff", "parent-obama"):
        world.tokens[name] = _login(world.url, name)
    for path, body in (
        ("classes", {"class_id": "6b", "name": "6B", "start_time": "08:00"}),
        ("pupils", {"pupil_id": "dana", "name": "Dana", "class_id": "6b"}),
    ):
        url = f"{world.url}/api/v1/schools/{SCHOOL}/{path}"
        httpx.post(url, json=body, headers=world.head(), timeout=60).raise_for_status()
    _month_of_arrivals(world)
    return world


def _login(url: str, username: str) -> str:
    reply = httpx.post(url + "/api/v1/auth/login", json={"username": username, "password": PASSWORD}, timeout=30)
    return str(reply.raise_for_status().json()["token"])


def log_in(page: Any, url: str, username: str, home: str) -> None:
    """Log in through the login form and wait for the role's home page."""
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url("**" + home)


def open_as(browser: Any, world: PagesWorld, who: str, **context: Any) -> Any:
    """A page of a new browser context already logged in as ``who`` (its API session token as the cookie, saving
    a password hash per test; the login form itself is driven by the every-page test)."""
    ctx = browser.new_context(**{"viewport": {"width": 1100, "height": 800}, **context})
    ctx.add_cookies([{"name": "kuzet_session", "value": world.tokens[who], "url": world.url}])
    return ctx.new_page()


def switch_language(page: Any, lang: str) -> None:
    """Press the page's language button and wait for the page to come back in that language."""
    page.click(f'button.lang[data-lang="{lang}"]')
    wait_until(page, f"document.documentElement.lang === '{lang}'", timeout=10_000)
    page.wait_for_load_state()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as a test artefact (git-ignored ``var/screenshots``)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


TEXTS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement && n.parentElement.closest("script, style")) continue;
    const s = n.textContent.trim(); if (s) out.push(s);
  }
  for (const el of document.querySelectorAll("[aria-label], [alt], [title], [placeholder]"))
    for (const a of ["aria-label", "alt", "title", "placeholder"]) if (el.getAttribute(a)) out.push(el.getAttribute(a));
  out.push(document.title);
  return out;
}"""


ENGLISH_PHRASE = re.compile(r"\b[a-z]{3,} [a-z]{2,} [a-z]{3,}\b")  # three lower-case Latin words in a row


def english_left(texts: list[str], lang: str, data: tuple[str, ...] = ()) -> list[str]:
    """Texts that are (or contain) an English catalogue string whose translation in ``lang`` differs, or any other
    run of three English words (a message from code that never went through the catalogue); ``data`` lists texts
    that are data, not interface (a camera's location as its installer typed it)."""
    own, english = catalogue(lang), catalogue("en")
    leftovers = {english[k] for k in english if own[k] != english[k] and not english[k].startswith("{")}
    found = []
    for text in texts:
        for value in leftovers:
            words = value.split()
            if text == value or (len(words) >= 2 and value in text):
                found.append(f"{text!r} (catalogue: {value!r})")
        stripped = text
        for item in data:
            stripped = stripped.replace(item, "")
        if ENGLISH_PHRASE.search(stripped):
            found.append(f"{text!r} (English words)")
    return found
