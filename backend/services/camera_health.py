"""Camera health: the ingest handler of ``CameraHealthEvent`` and the scoped views of cameras' health.

Inside the ingest transaction every new change is kept in the history; it becomes the camera's current state only
when it is newer in capture order than the stored one (a late replay never overwrites a newer state), and only then
is ONE alert per change queued through the notifications outbox (dedupe key from the event id, so a replay queues
nothing). A change is judged against the stored state, so a restarted monitor re-reporting a state alerts nobody.
A school door camera alerts its school's staff who have an e-mail address, a traffic camera the operators of its
district (the device's site); a change back to healthy tells them it recovered. Messages are rendered in each
recipient's language.

Who sees what: the platform admin every camera, school staff their school's door cameras, operators their district's
traffic cameras; any other camera answers 404, as if it did not exist.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from backend.services.auth import Principal
from backend.services.errors import ForbiddenError, NotFoundError
from backend.store import camera_health as store
from backend.store import devices, users
from backend.store.camera_health import CameraHealthLine, HealthRow
from backend.store.devices import DeviceRow
from kuzet.contracts import CameraHealthEvent, CameraHealthState, EventBase
from notifications import outbox, templates

logger = logging.getLogger(__name__)

HEALTH_KIND = "camera_health"
RECOVERED_KIND = "camera_recovered"


def row_of(event: CameraHealthEvent, received_at: str) -> HealthRow:
    """The stored form of a change event."""
    return HealthRow(
        camera_id=event.camera_id,
        event_id=str(event.event_id),
        state=event.state.value,
        active=tuple(s.value for s in event.active),
        previous=event.previous.value,
        since=event.since.astimezone(UTC).isoformat(),
        captured_at=event.captured_at.isoformat(),
        measures=event.measures.model_dump(exclude_none=True),
        message=event.message,
        updated_at=received_at,
    )


class CameraHealthHandler:
    """The ingest ``EventHandler`` of ``camera_health`` events (history, current state, alerts)."""

    kinds = frozenset({"camera_health"})

    def __init__(self, timezone: str) -> None:
        """Args: timezone: IANA zone the alert texts show times in."""
        self.timezone = timezone

    def handle(self, conn: sqlite3.Connection, events: Sequence[EventBase]) -> None:
        """Record the changes in capture order; the newest becomes current and alerts its recipients."""
        mine = [e for e in events if isinstance(e, CameraHealthEvent)]
        now = datetime.now(UTC).isoformat()
        for event in sorted(mine, key=lambda e: (e.captured_at, str(e.event_id))):
            row = row_of(event, now)
            store.insert_history(conn, row)
            known = store.current(conn, event.camera_id)
            before = CameraHealthState.HEALTHY.value if known is None else known.state
            if not store.upsert_current(conn, row):
                logger.info(
                    "camera %s: health change %s (%s at %s) is older than the current state; kept in the history",
                    event.camera_id, event.event_id, event.state, event.captured_at,
                )  # fmt: skip
                continue
            if event.state.value == before:
                continue  # nothing changed for people: a first healthy report, a restarted monitor re-reporting
            device = devices.get(conn, event.camera_id)
            assert device is not None  # ingest authenticated the camera
            self._alert(conn, event, device, before)

    def _alert(self, conn: sqlite3.Connection, event: CameraHealthEvent, device: DeviceRow, before: str) -> None:
        """Tell the camera's people about the change from ``before`` (the state they knew) to ``event.state``."""
        recovered = event.state == CameraHealthState.HEALTHY
        kind = RECOVERED_KIND if recovered else HEALTH_KIND
        school_id = device.site if device.kind == "school" else None  # traffic messages belong to no school
        for user_id, email, language in _recipients(conn, device):
            subject, body = templates.render(
                kind,
                language,
                tz=self.timezone,
                time=event.since,
                camera_id=event.camera_id,
                state=event.state.value,
                previous=before,
                detail=event.message,
            )
            outbox.enqueue(
                conn,
                channel="email",
                recipient=email,
                subject=subject,
                body=body,
                dedupe_key=f"{HEALTH_KIND}:{event.event_id}:{user_id}",
                school_id=school_id,
                kind=kind,
                language=language,
            )


def _recipients(conn: sqlite3.Connection, device: DeviceRow) -> list[tuple[str, str, str]]:
    """(user id, e-mail, language) of who is told about ``device``: its school's staff or its district's operators."""
    if device.kind == "school":
        return [(s.user_id, s.email, s.language) for s in users.staff_contacts(conn, device.site)]
    found: list[tuple[str, str, str]] = []
    for operator in store.operator_contacts(conn, device.site):
        if operator.email is None:
            logger.warning(
                "operator %s of district %s has no e-mail address: not told about camera %s",
                operator.user_id, device.site, device.camera_id,
            )  # fmt: skip
            continue
        found.append((operator.user_id, operator.email, operator.language))
    if not found:
        logger.warning("camera %s: no operator of district %s can be told about its health", device.camera_id,
                       device.site)  # fmt: skip
    return found


def _scope(principal: Principal) -> tuple[str | None, str | None]:
    """(kind, site) of the cameras ``principal`` may see; (None, None) is every camera."""
    if principal.role == "platform_admin":
        return None, None
    if principal.role in ("school_admin", "staff") and principal.school_id is not None:
        return "school", principal.school_id
    if principal.role == "operator" and principal.district is not None:
        return "traffic", principal.district
    raise ForbiddenError("Not allowed", f"role {principal.role} may not see camera health")


def visible(conn: sqlite3.Connection, principal: Principal) -> list[CameraHealthLine]:
    """The cameras the caller may see, with their current health."""
    kind, site = _scope(principal)
    return store.lines(conn, kind, site)


def history(conn: sqlite3.Connection, principal: Principal, camera_id: str, limit: int) -> list[HealthRow]:
    """The health changes of one camera the caller may see, newest first.

    Raises:
        ForbiddenError: the role sees no camera at all.
        NotFoundError: the camera does not exist or is not the caller's (the same answer).
    """
    kind, site = _scope(principal)
    device = devices.get(conn, camera_id)
    if device is None or (kind is not None and (device.kind, device.site) != (kind, site)):
        raise NotFoundError("Camera not found", f"there is no camera {camera_id!r} among yours")
    return store.history(conn, camera_id, limit)
