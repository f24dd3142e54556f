"""The pages' services through the real app (TestClient, real SQLite): catalogues, language per user, school time
zone, the board's event stream, the parents' withdrawal/preferences/export and the monthly report."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backend.web.i18n import LANGUAGES, catalogue
from kuzet.contracts.enums import CameraHealthState
from tests.backend.school.conftest import World, build_world
from tests.support.events import entry

PLACEHOLDER = re.compile(r"\{(\w+)\}")
KAZAKH_LETTERS = set("әғқңөұүі")  # һ is rare (loanwords); the rest appear in any real Kazakh text


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    worlds = build_world(tmp_path_factory.mktemp("pages"), purge_interval_s=0)
    world = next(worlds)
    import numpy as np

    from backend.db import connect, transaction
    from backend.services import privacy

    db = connect(world.settings.database)
    with transaction(db) as conn:
        privacy.set_consent(conn, "p1", True, "Aigerim", "test")
        vector = np.ones((2, 128), np.float32) / np.sqrt(128)
        privacy.store_templates(conn, world.settings.template_key_bytes, "p1", "sface", vector, None)
    db.conn.close()
    world.post_events([entry("door-1", 1, pupil_id="p1", captured_at=datetime.now(UTC))])
    yield world
    worlds.close()


def test_catalogues_have_the_same_keys_and_placeholders_in_every_language() -> None:
    english = catalogue("en")
    for lang in LANGUAGES:
        own = catalogue(lang)
        assert set(own) == set(english), f"{lang}: missing {set(english) - set(own)}, extra {set(own) - set(english)}"
        for key, text in own.items():
            assert text.strip(), f"{lang}.{key} is empty"
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(english[key])), f"{lang}.{key}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_camera_health_state_has_a_label(language: str) -> None:
    assert {f"camera.{state.value}" for state in CameraHealthState} <= set(catalogue(language))


def test_kazakh_is_written_in_kazakh_cyrillic_and_russian_is_not_english() -> None:
    kk, ru, en = catalogue("kk"), catalogue("ru"), catalogue("en")
    assert KAZAKH_LETTERS & set("".join(kk.values())) == KAZAKH_LETTERS  # every Kazakh-only letter is used
    same = {k for k in en if kk[k] == en[k] or ru[k] == en[k]}
    assert same <= {"channel.telegram", "channel.sms", "dow.5"} | {k for k in en if en[k].isupper()}, same


def test_templates_only_name_keys_the_catalogue_has() -> None:
    folder = Path(__file__).resolve().parents[3] / "backend" / "web" / "templates"
    used = set()
    for template in folder.rglob("*.html"):
        used |= set(re.findall(r"""\bt\(["']([a-z_]+\.[a-z_.0-9]+)["']\s*[,)]""", template.read_text()))
    assert used, "no t() calls found"
    assert not used - set(catalogue("en")), f"keys used but not in the catalogue: {used - set(catalogue('en'))}"


def test_a_users_language_is_remembered_and_the_board_speaks_it(world: World) -> None:
    head = world.auth("staff_a")
    assert world.client.post("/api/v1/me/language", json={"language": "kk"}, headers=head).status_code == 204
    world.client.cookies.clear()
    page = world.client.get("/schools/school-1/dashboard", headers=head)
    assert page.status_code == 200 and '<html lang="kk">' in page.text
    assert "Қазір мектепте" in page.text and "Inside now" not in page.text
    assert 'href="/static/kuzet.css"' in page.text and "<style" not in page.text
    assert world.client.post("/api/v1/me/language", json={"language": "xx"}, headers=head).status_code == 422
    world.client.post("/api/v1/me/language", json={"language": "en"}, headers=head)


def test_the_school_time_zone_moves_the_times_on_its_pages(world: World) -> None:
    head = world.auth("admin_a")
    bad = world.client.put("/api/v1/schools/school-1/timezone", json={"timezone": "Mars/Olympus"}, headers=head)
    assert bad.status_code == 422
    times = []
    day = datetime.now(ZoneInfo("Asia/Almaty")).date().isoformat()  # the pass's school day (the settings' zone)
    for zone in ("Asia/Almaty", "Europe/Moscow"):
        reply = world.client.put("/api/v1/schools/school-1/timezone", json={"timezone": zone}, headers=head)
        assert reply.status_code == 200
        page = world.client.get(f"/schools/school-1/pupils/p1?day={day}", headers=head).text
        times.append(re.findall(r"<strong>(\d\d:\d\d:\d\d)</strong>", page))
    (almaty,), (moscow,) = times
    assert (int(almaty[:2]) - int(moscow[:2])) % 24 == 2  # UTC+5 and UTC+3
    world.client.put("/api/v1/schools/school-1/timezone", json={"timezone": "Asia/Almaty"}, headers=head)


def test_the_board_stream_sends_the_rendered_board(world: World) -> None:
    reply = world.client.get("/schools/school-1/dashboard/stream?limit_s=0", headers=world.auth("staff_a"))
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
    events = [block for block in reply.text.split("\n\n") if block.startswith("event: board")]
    html = json.loads(events[0].split("data: ", 1)[1])
    assert 'data-pupil="p1"' in html and 'id="timeline"' in html
    refused = world.client.get("/schools/school-1/dashboard/stream?limit_s=0", headers=world.auth("staff_b"))
    assert refused.status_code == 403


def test_parents_withdraw_consent_and_the_gallery_loses_the_templates(world: World) -> None:
    device = world.auth("device_a")
    before = world.client.get("/api/v1/gallery", headers=device).json()
    mine = [t["template_id"] for t in before["added"] if t["pupil_id"] == "p1"]
    assert len(mine) == 2
    other = world.client.post("/api/v1/parents/children/p1/consent/withdraw", headers=world.auth("guardian_a2"))
    assert other.status_code == 404  # not their child
    reply = world.client.post("/api/v1/parents/children/p1/consent/withdraw", headers=world.auth("guardian_a"))
    assert reply.status_code == 200 and reply.json()["templates_removed"] == 2
    assert world.rows("SELECT COUNT(*) FROM face_templates WHERE pupil_id = 'p1'") == [(0,)]
    delta = world.client.get(f"/api/v1/gallery?since={before['to_version']}", headers=device).json()
    assert sorted(delta["removed"]) == sorted(mine) and not delta["added"]
    full = world.client.get("/api/v1/gallery", headers=device).json()
    assert all(t["pupil_id"] != "p1" for t in full["added"])
    actions = world.rows("SELECT action, actor FROM audit_log WHERE action = 'consent_withdrawn'")
    assert len(actions) == 1


def test_parents_set_preferences_and_export_everything_about_their_child(world: World) -> None:
    head = world.auth("guardian_a")
    body = {"language": "ru", "channel": "telegram", "address": "55501"}
    assert world.client.put("/api/v1/parents/preferences", json=body, headers=head).status_code == 200
    assert world.rows("SELECT language, channel, address FROM guardians WHERE guardian_id = 'g1'") == [
        ("ru", "telegram", "55501")
    ]
    page = world.client.get("/parents", headers=head).text
    assert '<html lang="ru">' in page and "Мои дети" in page
    document = world.client.get("/api/v1/parents/children/p1/export.json", headers=head).json()
    assert document["format"] == "kuzet.child-record/1"
    assert document["pupil"] == {"pupil_id": "p1", "name": "Aruzhan", "class_id": "5a"}
    assert len(document["passes"]) == 1 and document["passes"][0]["direction"] == "entered"
    assert document["consent"]["granted"] is False
    rows = list(csv.reader(io.StringIO(world.client.get("/api/v1/parents/children/p1/export.csv", headers=head).text)))
    assert rows[0][0] == "record" and {r[0] for r in rows[1:]} == {"day", "pass"}
    refused = world.client.get("/api/v1/parents/children/qleakb1/export.json", headers=head)
    assert refused.status_code == 404 and "LEAKB" not in refused.text


def test_the_monthly_report_counts_present_late_and_absent(world: World) -> None:
    head = world.auth("staff_a")
    month = datetime.now(UTC).strftime("%Y-%m")
    text = world.client.get(f"/api/v1/schools/school-1/reports/monthly.csv?month={month}", headers=head).text
    rows = {r["pupil_id"]: r for r in csv.DictReader(io.StringIO(text))}
    days = int(rows["p1"]["school_days"])
    present = int(rows["p1"]["present"])
    assert present == (1 if datetime.now(UTC).weekday() < 5 else 0)
    assert int(rows["p1"]["absent"]) == days - present and rows["p2"]["present"] == "0"
    pdf = world.client.get(f"/api/v1/schools/school-1/reports/monthly.pdf?month={month}", headers=head)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    bad = world.client.get("/api/v1/schools/school-1/reports/monthly.csv?month=2026-13", headers=head)
    assert bad.status_code == 422
