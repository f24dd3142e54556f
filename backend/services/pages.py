"""What the server-rendered pages show: the language and time zone of a request, the staff board (the dashboard's
day summary plus the absent list and the arrivals timeline drawn as SVG) and a pupil's day with its evidence."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backend.services.attendance import local
from backend.services.dashboard import DaySummary, failed_deliveries, summary
from backend.services.errors import BadInputError
from backend.services.records import pupil_of_school, school_name
from backend.store import pages as store
from backend.web.i18n import PageLanguage, language

BUCKET_MIN = 10
CHART_W, CHART_H = 600, 140


def valid_zone(zone: str) -> str:
    """``zone`` when it is an IANA zone this machine knows, else 422."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadInputError("Unknown time zone", f"{zone!r} is not an IANA zone such as Asia/Almaty") from exc
    return zone


def school_zone(conn: sqlite3.Connection, school_id: str, default: str) -> str:
    """The school's own time zone, else the deployment's ``school.timezone``."""
    return store.school_timezone(conn, school_id) or default


def page_language(conn: sqlite3.Connection, user_id: str | None, cookie: str | None) -> PageLanguage:
    """The language a user chose (remembered with their account), else the browser's cookie, else the default."""
    stored = None if user_id is None else store.user_language(conn, user_id)
    return language(stored or cookie)


def remember_language(conn: sqlite3.Connection, user_id: str | None, lang: str) -> PageLanguage:
    """Store a user's page language (users without an account row keep it in their cookie only)."""
    chosen = language(lang)
    if chosen != lang:
        raise BadInputError("Unknown language", f"choose one of kk, ru, en, not {lang!r}")
    if user_id is not None:
        store.set_user_language(conn, user_id, chosen)
    return chosen


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of the arrivals chart."""

    x: float
    y: float
    width: float
    height: float
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class Timeline:
    """Today's arrivals per ``BUCKET_MIN`` minutes, ready to draw."""

    bars: list[Bar]
    ticks: list[tuple[float, str]]
    total: int
    width: int = CHART_W
    height: int = CHART_H


def timeline(arrivals: list[str], zone: ZoneInfo) -> Timeline:
    """Arrivals per bucket from 07:00 (or earlier) to 10:00 (or later), local time."""
    minutes = [local(a, zone) for a in arrivals]
    start = min([7 * 60, *(m.hour * 60 for m in minutes)])
    end = max([10 * 60, *((m.hour + 1) * 60 for m in minutes)])
    buckets = (end - start) // BUCKET_MIN
    counts = [0] * buckets
    for m in minutes:
        counts[min(buckets - 1, (m.hour * 60 + m.minute - start) // BUCKET_MIN)] += 1
    top = max([1, *counts])
    step = CHART_W / buckets
    bars = []
    for i, n in enumerate(counts):
        height = (CHART_H - 20) * n / top
        at = start + i * BUCKET_MIN
        bars.append(Bar(i * step + 1, CHART_H - 18 - height, step - 2, height, f"{at // 60:02d}:{at % 60:02d}", n))
    ticks = [((h * 60 - start) / BUCKET_MIN * step, f"{h:02d}:00") for h in range(start // 60, end // 60 + 1)]
    return Timeline(bars, ticks, len(arrivals))


@dataclass(frozen=True, slots=True)
class Board:
    """Everything on the staff board."""

    school_id: str
    school_name: str
    zone: str
    data: DaySummary
    absent: list[Any]
    timeline: Timeline


def board(conn: sqlite3.Connection, school_id: str, default_zone: str, day: str | None = None) -> Board:
    """The staff board of ``day`` (default today in the school's zone)."""
    zone_name = school_zone(conn, school_id, default_zone)
    zone = ZoneInfo(zone_name)
    day = day or datetime.now(zone).date().isoformat()
    data = summary(conn, school_id, day, zone_name)
    absent = [p for p in data.pupils if p.state == "absent"]
    chart = timeline(store.arrival_times(conn, school_id, day), zone)
    return Board(school_id, school_name(conn, school_id), zone_name, data, absent, chart)


def fingerprint(conn: sqlite3.Connection, school_id: str, default_zone: str) -> str:
    """A value that changes when the board may have changed: a door event arrived, a delivery failed, the school's
    zone or its day changed."""
    zone = school_zone(conn, school_id, default_zone)
    day = datetime.now(ZoneInfo(zone)).date().isoformat()
    failed = len(failed_deliveries(conn, school_id))
    return json.dumps([*store.board_fingerprint(conn, school_id), failed, zone, day])


@dataclass(frozen=True, slots=True)
class PassView:
    """One pass on the pupil page."""

    event_id: str
    time: str
    direction: str
    camera_id: str
    temperature: str
    mask: str
    score: str
    frame: bool


def _pass_view(p: store.PassEvidence, zone: ZoneInfo) -> PassView:
    payload = json.loads(p.payload)
    temp = "" if p.temperature_c is None else f"{p.temperature_c:.1f} °C"
    score = payload.get("match_score")
    return PassView(
        p.event_id, local(p.captured_at, zone).strftime("%H:%M:%S"), p.direction, p.camera_id, temp,
        str(payload.get("mask") or ""), "" if score is None else f"{float(score):.2f}", bool(p.shas),
    )  # fmt: skip


def pupil_day(conn: sqlite3.Connection, school_id: str, pupil_id: str, default_zone: str, day: str | None
              ) -> tuple[Any, str, list[PassView]]:  # fmt: skip
    """(pupil, day, passes) of one pupil of the school on ``day`` (default today)."""
    pupil = pupil_of_school(conn, school_id, pupil_id)
    zone = ZoneInfo(school_zone(conn, school_id, default_zone))
    day = day or datetime.now(zone).date().isoformat()
    return pupil, day, [_pass_view(p, zone) for p in store.passes_with_evidence(conn, pupil.pupil_id, day)]


def week_days(today: str) -> list[str]:
    """The seven local dates ending with ``today``, oldest first."""
    last = datetime.strptime(today, "%Y-%m-%d").date()
    return [(last - timedelta(days=i)).isoformat() for i in range(6, -1, -1)]
