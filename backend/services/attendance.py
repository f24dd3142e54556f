"""Attendance derived from entry events, in capture order (never arrival order).

Every known-pupil event of a school door is kept in ``school_passes``; after each ingest the affected pupil-days are
recomputed from all their events sorted by ``captured_at`` (then event id), so a replayed or late-arriving event
gives the same state as in-order delivery. A pass is a new pass unless the previous event of that pupil-day had the
same direction less than ``linger_debounce_s`` earlier (a pupil lingering in the doorway is one pass). Guardians get
one message per new pass; staff get fever and unknown-face alerts. Messages are outbox rows written in the ingest
transaction: a request never waits on a channel.

Fever is decided as the door decided it: ``temperature_c >= fever_threshold_c`` with the threshold the event carries
(the settings' ``fever_threshold_c`` only for events that carry none), on the pass alert and on the day alike. A
temperature the door labelled ``synthetic`` (rendered demo data) is stored and shown with that label but never
alerts staff: it measures nobody.
"""

from __future__ import annotations

import logging
import sqlite3
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from backend.services import messages
from backend.settings import SchoolSettings
from backend.store import attendance as store
from backend.store import devices, dialect, faces, schools, users
from backend.store.attendance import DayRow, PassRow, PassThermal, UnknownRow
from kuzet.contracts import EntryEvent, EventBase

logger = logging.getLogger(__name__)


def local(moment: datetime | str, zone: ZoneInfo) -> datetime:
    """A UTC datetime (or ISO string) in the school's zone."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(zone)


@dataclass(frozen=True, slots=True)
class PupilDay:
    """The derived attendance of one pupil on one school day."""

    state: str
    first_in: str | None
    last_out: str | None
    late: bool
    minutes_late: int
    feverish: bool
    max_temperature_c: float | None
    passes: int
    new_pass_ids: frozenset[str]
    members: dict[str, tuple[str, ...]]
    temperature: PassThermal | None = None  # what the door said about max_temperature_c


def is_fever(temperature_c: float | None, door_threshold_c: float | None, settings: SchoolSettings) -> bool:
    """The door's decision: at or above the door's threshold; the settings' threshold only when the door sent none."""
    if temperature_c is None:
        return False
    return temperature_c >= (door_threshold_c if door_threshold_c is not None else settings.fever_threshold_c)


def derive(
    rows: Sequence[tuple[str, str, str, float | None]],
    start_time: str | None,
    settings: SchoolSettings,
    thermal: Mapping[str, PassThermal] | None = None,
) -> PupilDay:
    """Attendance of a pupil-day from its events.

    Args:
        rows: (event_id, captured_at ISO UTC, direction, temperature_c) in any order.
        start_time: the class start ``HH:MM`` local time, None when the pupil has no class.
        settings: thresholds.
        thermal: what the doors said about the temperatures, by event id (threshold, source, uncertainty).
    """
    labels = thermal or {}
    zone = ZoneInfo(settings.timezone)
    ordered = sorted(rows, key=lambda r: (r[1], r[0]))
    state, first_in, last_out = "absent", None, None
    new_ids: set[str] = set()
    members: dict[str, list[str]] = {}
    leader = ""
    previous: tuple[datetime, str] | None = None
    for event_id, captured, direction, _ in ordered:
        if direction not in ("entered", "left"):
            continue
        at = datetime.fromisoformat(captured)
        linger = previous is not None and previous[1] == direction
        if not (linger and previous is not None and at - previous[0] < timedelta(seconds=settings.linger_debounce_s)):
            new_ids.add(event_id)
            leader = event_id
        members.setdefault(leader, []).append(event_id)
        previous = (at, direction)
        state = "inside" if direction == "entered" else "left"
        if direction == "entered" and first_in is None:
            first_in = captured
        if direction == "left":
            last_out = captured
    measured = [r for r in ordered if r[3] is not None]
    hottest = max(measured, key=lambda r: r[3] or 0.0) if measured else None
    late, minutes_late = False, 0
    if first_in is not None and start_time is not None:
        arrived = local(first_in, zone)
        hour, minute = (int(x) for x in start_time.split(":"))
        deadline = arrived.replace(hour=hour, minute=minute, second=0, microsecond=0)
        late = arrived > deadline + timedelta(minutes=settings.late_grace_minutes)
        minutes_late = max(int((arrived - deadline).total_seconds() // 60), 0)
    return PupilDay(
        state=state,
        first_in=first_in,
        last_out=last_out,
        late=late,
        minutes_late=minutes_late if late else 0,
        feverish=any(
            is_fever(t, labels[e].fever_threshold_c if e in labels else None, settings) for e, _, _, t in measured
        ),
        max_temperature_c=None if hottest is None else hottest[3],
        passes=len(new_ids),
        new_pass_ids=frozenset(new_ids),
        members={k: tuple(v) for k, v in members.items()},
        temperature=None if hottest is None else labels.get(hottest[0]),
    )


def recompute(conn: sqlite3.Connection, pupil_id: str, day: str, settings: SchoolSettings) -> PupilDay:
    """Recompute and store one pupil-day from all its stored events."""
    rows = store.passes_of_day(conn, pupil_id, day)
    school_id, start_time = store.class_start(conn, pupil_id)
    result = derive(rows, start_time, settings, store.thermal_of_day(conn, pupil_id, day))
    store.save_day(
        conn,
        DayRow(
            pupil_id=pupil_id,
            day=day,
            school_id=school_id,
            state=result.state,
            first_in=result.first_in,
            last_out=result.last_out,
            late=result.late,
            feverish=result.feverish,
            max_temperature_c=result.max_temperature_c,
            passes=result.passes,
            temperature=result.temperature,
        ),
    )
    store.mark_new_passes(conn, pupil_id, day, result.new_pass_ids)
    return result


def _pass_row(event: EntryEvent, site: str, pupil_id: str, day: str) -> PassRow:
    return PassRow(
        str(event.event_id), site, pupil_id, day, event.captured_at.isoformat(), event.direction, event.temperature_c,
        event.temperature_source, event.temperature_sigma_c, event.fever_threshold_c, event.blackbody_offset_c,
    )  # fmt: skip


def _unknown_row(event: EntryEvent, site: str, day: str) -> UnknownRow:
    snapshot = next((a.sha256 for a in event.attachments if a.role == "snapshot"), None)
    if snapshot is None and event.attachments:
        snapshot = event.attachments[0].sha256
    return UnknownRow(str(event.event_id), site, day, event.captured_at.isoformat(), event.camera_id, snapshot)


def _temperature_text(event: EntryEvent) -> str:
    """``38.2`` or, with the door's uncertainty, ``38.2 ± 0.3`` (the template adds the unit)."""
    if event.temperature_c is None:
        return ""
    sigma = event.temperature_sigma_c
    return f"{event.temperature_c:.1f}" + ("" if sigma is None else f" ± {sigma:.1f}")


@dataclass
class _SortedBatch:
    """One ingest batch's entry events sorted for storing."""

    passes: list[PassRow]
    unknown: list[tuple[EntryEvent, str, str]]
    touched: dict[tuple[str, str], list[EntryEvent]]


class AttendanceHandler:
    """The ingest ``EventHandler`` of the school service (entry events only)."""

    kinds = frozenset({"entry"})

    def __init__(self, settings: SchoolSettings) -> None:
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)

    def handle(self, conn: sqlite3.Connection, events: Sequence[EventBase]) -> None:
        """Store the passes, recompute the touched pupil-days and write the messages of new passes.

        Lookups are per batch: each camera once, the batch's pupils in one query, the passes and unknown faces in one
        statement each, the unknown-face debounce in one range query per camera.
        """
        entries = [e for e in events if isinstance(e, EntryEvent)]
        named = sorted({e.pupil_id for e in entries if e.identity == "known" and e.pupil_id is not None})
        batch = self._sort(entries, self._school_sites(conn, {e.camera_id for e in entries}),
                           store.schools_of_pupils(conn, named), faces.withdrawn_consents(conn, named))  # fmt: skip
        passes, unknown, touched = batch.passes, batch.unknown, batch.touched
        store.insert_passes(conn, passes)
        self._unknowns(conn, unknown)
        # PostgreSQL: another API process may be deriving the same pupil-day; wait for it so ours reads its passes
        dialect.lock_keys(conn, "pupil-day", [f"{pupil_id}|{day}" for pupil_id, day in touched])
        for (pupil_id, day), mine in touched.items():
            result = recompute(conn, pupil_id, day, self.settings)
            for event in mine:
                if self._first_notice_of_pass(conn, result, str(event.event_id)):
                    self._tell_guardians(conn, event, pupil_id, result)
                if is_fever(event.temperature_c, event.fever_threshold_c, self.settings):
                    if event.temperature_source == "synthetic":
                        logger.info("event %s: synthetic temperature, no fever alert", event.event_id)
                    else:
                        self._tell_staff(conn, event, "fever_alert", pupil_id)

    def _sort(
        self, entries: Sequence[EntryEvent], sites: Mapping[str, str], enrolled: Mapping[str, str], withdrawn: set[str]
    ) -> _SortedBatch:
        """Passes of enrolled pupils, unknown faces (incl. pupils not enrolled at that door's school) and the
        identifications of pupils whose consent is withdrawn (a door not yet synced: discarded, nothing stored)."""
        batch = _SortedBatch([], [], {})
        strays: list[EntryEvent] = []
        dropped: list[EntryEvent] = []
        for event in entries:
            site = sites.get(event.camera_id)
            if site is None:
                continue
            day = local(event.captured_at, self.zone).date().isoformat()
            known = event.identity == "known" and event.pupil_id is not None
            if known and str(event.pupil_id) in withdrawn:
                dropped.append(event)
                continue
            if known and enrolled.get(str(event.pupil_id)) != site:
                strays.append(event)
                known = False
            if not known or event.pupil_id is None:
                batch.unknown.append((event, site, day))
                continue
            batch.passes.append(_pass_row(event, site, event.pupil_id, day))
            batch.touched.setdefault((event.pupil_id, day), []).append(event)
        for what, events in (
            ("pupils not enrolled at their door's school", strays),
            ("pupils whose consent is withdrawn (door gallery not synced yet), discarded", dropped),
        ):
            if events:
                logger.warning("%d event(s) name %s, e.g. event %s names %s at %s", len(events), what,
                               events[0].event_id, events[0].pupil_id, events[0].camera_id)  # fmt: skip
        return batch

    @staticmethod
    def _school_sites(conn: sqlite3.Connection, camera_ids: set[str]) -> dict[str, str]:
        """The school (site) of each school camera among ``camera_ids``; other kinds are logged and left out."""
        sites: dict[str, str] = {}
        for camera_id in sorted(camera_ids):
            device = devices.get(conn, camera_id)
            assert device is not None  # ingest authenticated the camera
            if device.kind != "school":
                logger.warning("entry events from %s camera %s ignored", device.kind, camera_id)
                continue
            sites[camera_id] = device.site
        return sites

    @staticmethod
    def _first_notice_of_pass(conn: sqlite3.Connection, result: PupilDay, event_id: str) -> bool:
        """A new pass whose other events (a late-arriving earlier copy of the same lingering) were not told yet."""
        if event_id not in result.new_pass_ids:
            return False
        others = [m for m in result.members.get(event_id, ()) if m != event_id]
        return not any(messages.already_told(conn, f"pass:{m}:") for m in others)

    def _unknowns(self, conn: sqlite3.Connection, items: Sequence[tuple[EntryEvent, str, str]]) -> None:
        """Store the batch's unknown faces; alert staff once per group: an unknown face with no other one at the
        same door in the ``unknown_alert_debounce_s`` before it (stored earlier or in this batch)."""
        if not items:
            return
        store.insert_unknowns(conn, [_unknown_row(event, site, day) for event, site, day in items])
        debounce = timedelta(seconds=self.settings.unknown_alert_debounce_s)
        by_camera: dict[str, list[EntryEvent]] = {}
        for event, _, _ in items:
            by_camera.setdefault(event.camera_id, []).append(event)
        for camera_id, mine in by_camera.items():
            start = (min(e.captured_at for e in mine) - debounce).isoformat()
            end = max(e.captured_at for e in mine).isoformat()
            seen = [datetime.fromisoformat(t) for t in store.unknown_times(conn, camera_id, start, end)]
            for event in mine:
                first = bisect_left(seen, event.captured_at - debounce)
                if not (first < len(seen) and seen[first] < event.captured_at):  # a group of strangers is one alert
                    self._tell_staff(conn, event, "unknown_face", None)

    def _tell_guardians(self, conn: sqlite3.Connection, event: EntryEvent, pupil_id: str, day: PupilDay) -> None:
        """One message per guardian; the first entry of a late day says how late."""
        if event.direction not in ("entered", "left"):
            return
        kind = "pupil_entered" if event.direction == "entered" else "pupil_left"
        extra = {}
        if kind == "pupil_entered" and day.late and day.first_in == event.captured_at.isoformat():
            kind, extra = "pupil_late", {"minutes_late": str(day.minutes_late)}
        for g in schools.guardian_contacts(conn, pupil_id):
            message = messages.Message(
                f"pass:{event.event_id}:{g.guardian_id}", g.school_id, kind, g.channel, g.address, g.language
            )
            messages.enqueue(conn, message, self.settings.timezone, event.captured_at, pupil=g.pupil_name, **extra)

    def _tell_staff(self, conn: sqlite3.Connection, event: EntryEvent, kind: str, pupil_id: str | None) -> None:
        device = devices.get(conn, event.camera_id)
        assert device is not None  # ingest authenticated the camera
        site = device.site
        pupil = schools.pupil(conn, pupil_id) if pupil_id is not None else None
        name = "?" if pupil is None else pupil.name
        staff = users.staff_contacts(conn, site)
        fields = {
            "pupil": name,
            "camera": event.camera_id,
            "temperature": _temperature_text(event),
        }
        for person in staff:
            message = messages.Message(
                f"{kind}:{event.event_id}:{person.user_id}", site, kind, "email", person.email, person.language
            )
            messages.enqueue(conn, message, self.settings.timezone, event.captured_at, **fields)
