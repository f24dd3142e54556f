"""Traffic violations: stored from ingested ViolationEvents, reviewed by district operators, sent to the police.

``ViolationEventHandler`` runs inside the ingest transaction for new events only, so a replayed event is stored
once. Each violation keeps its evidence files (frames, annotated frame, plate crop, track, scene, the signed
manifest and its signature) by role, and the result of re-checking the package on arrival (the manifest hash is
the event's ``evidence_sha256``, the Ed25519 signature matches the manifest's key, every listed file arrived, and
the key is the one pinned for the camera by its first verified package).

States: ``queued`` -> ``confirmed`` (one police outbox row, written in the same transaction) or ``rejected``
(with a reason). A plate correction keeps the original read. Every operator action is in ``violation_audit``.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from backend.services.auth import Principal
from backend.services.errors import BadInputError, ConflictError, NotFoundError
from backend.services.ingest import AnyEvent
from backend.services.media import MediaVault
from backend.store import devices
from backend.store import media as media_store
from backend.store import violations as store
from backend.store.violations import AuditRow, EvidenceFile, ViolationRecord
from edge.traffic.evidence_verify import verify_uploaded
from kuzet.contracts import ViolationEvent
from notifications.outbox import enqueue_police, state
from notifications.templates import render

logger = logging.getLogger(__name__)

PLATE = re.compile(r"^[A-Z0-9]{4,12}$")
VERIFIED = "verified"


def evidence_status(event: ViolationEvent, media: MediaVault, pinned_key: str | None) -> tuple[str, str | None]:
    """Re-check the event's evidence package from the uploaded files (``edge.traffic.evidence_verify``).

    Args:
        event: the ingested violation.
        media: the uploaded attachments (sealed at rest).
        pinned_key: hex Ed25519 public key pinned for the camera, or None when none is pinned yet.

    Returns:
        ``(status, public_key)``: ``verified`` or the first problem, and the manifest's key when the signature
        verified with it (else None).
    """
    by_role = {a.role: a.sha256 for a in event.attachments}
    if event.evidence_sha256 is None:
        return "no evidence package referenced", None
    if by_role.get("manifest") != event.evidence_sha256:
        return "the manifest attachment is not the package named by evidence_sha256", None
    manifest = media.read(event.evidence_sha256)
    signature = media.read(by_role.get("signature", "")) if "signature" in by_role else None
    if manifest is None or signature is None:
        return "the manifest or its signature was not uploaded", None
    problem, public = verify_uploaded(manifest, signature, set(by_role.values()), event.camera_id, pinned_key)
    return problem or VERIFIED, public


def reset_evidence_key(conn: sqlite3.Connection, camera_id: str) -> bool:
    """Forget a camera's pinned evidence key (a replaced camera); its next verified package pins the new one."""
    return store.unpin_key(conn, camera_id)


def _record(event: ViolationEvent, district: str, status: str, received_at: str) -> ViolationRecord:
    """A new, queued violation of ``district`` from an ingested event."""
    return ViolationRecord(
        violation_id=str(event.event_id),
        camera_id=event.camera_id,
        district=district,
        kind=event.violation,
        vehicle_class=event.vehicle_class,
        track_id=event.track_id,
        captured_at=event.captured_at.isoformat(),
        clock_source=event.clock_source.value,
        received_at=received_at,
        location=event.location,
        speed_kmh=event.speed_kmh,
        signal_state=event.signal_state,
        signal_source=event.signal_source,
        plate_raw=event.plate_raw,
        plate_read=event.plate_normalised,
        plate_corrected=None,
        evidence_sha256=event.evidence_sha256,
        evidence_status=status,
        state="queued",
        reject_reason=None,
        decided_by=None,
        decided_at=None,
    )


class ViolationEventHandler:
    """Stores new ViolationEvents in the review queue of their camera's district."""

    kinds = frozenset({"violation"})

    def __init__(self, media: MediaVault) -> None:
        self.media = media

    def handle(self, conn: sqlite3.Connection, events: Sequence[AnyEvent]) -> None:
        """Insert one queued violation (and its evidence files) per new event."""
        now = datetime.now(UTC).isoformat()
        for event in events:
            if not isinstance(event, ViolationEvent):
                continue
            camera = devices.get(conn, event.camera_id)
            if camera is None or camera.kind != "traffic":
                kind = None if camera is None else camera.kind
                logger.warning("violation %s from %s camera %s not queued", event.event_id, kind, event.camera_id)
                continue
            vid = str(event.event_id)
            pinned = store.pinned_key(conn, event.camera_id)
            status, public = evidence_status(event, self.media, pinned)
            if status != VERIFIED:
                logger.warning("violation %s: evidence %s", event.event_id, status)
            elif pinned is None and public is not None:
                store.pin_key(conn, event.camera_id, public, now, vid)
                logger.info("camera %s: evidence key %s... pinned", event.camera_id, public[:16])
            files = [EvidenceFile(a.role, a.sha256, a.media_type) for a in event.attachments]
            store.insert(conn, _record(event, camera.site, status, now), files)


def _district(operator: Principal) -> str:
    """The operator's district (an account without one reviews nothing)."""
    if operator.district is None:
        raise NotFoundError("Unknown violation", "this account reviews no district")
    return operator.district


def list_violations(
    conn: sqlite3.Connection,
    operator: Principal,
    states: Sequence[str] = ("queued",),
    limit: int = 200,
    newest_first: bool = False,
) -> list[ViolationRecord]:
    """Violations of the operator's district in the given states, oldest capture first (the queue order) unless
    asked."""
    return store.in_district(conn, _district(operator), states, limit, newest_first)


def get_violation(conn: sqlite3.Connection, operator: Principal, violation_id: str) -> ViolationRecord:
    """One violation of the operator's district.

    Raises:
        NotFoundError: it does not exist or belongs to another district (the two are not distinguished).
    """
    record = store.get(conn, violation_id)
    if record is None or record.district != operator.district:
        raise NotFoundError("Unknown violation", f"no violation {violation_id} in district {operator.district}")
    return record


def evidence_files(conn: sqlite3.Connection, violation_id: str) -> list[EvidenceFile]:
    """The evidence files of a violation, by role: only bytes its own district's cameras uploaded (a file cited
    across tenants before ingest checked citations is never shown)."""
    record = store.get(conn, violation_id)
    files = store.evidence_files(conn, violation_id)
    if record is None or not files:
        return []
    foreign = media_store.not_uploaded_by(conn, [f.sha256 for f in files], "traffic", record.district)
    return [f for f in files if f.sha256 not in foreign]


def evidence_media_type(conn: sqlite3.Connection, operator: Principal, violation_id: str, sha256: str) -> str:
    """The media type of an evidence file of a violation of the operator's district.

    Raises:
        NotFoundError: the violation is unknown here, or ``sha256`` is not its evidence.
    """
    record = get_violation(conn, operator, violation_id)
    media_type = store.evidence_media_type(conn, violation_id, sha256)
    if media_type is None or not media_store.uploaded_by(conn, sha256, "traffic", record.district):
        raise NotFoundError("Unknown evidence file", f"{sha256} is not evidence of violation {violation_id}")
    return media_type


def track_overlay(media: MediaVault, files: Sequence[EvidenceFile]) -> dict[str, Any]:
    """The track path (image pixels) and the frame size, read from the package's ``track.json`` / ``scene.json``.

    Returns:
        ``{"path": [[x, y], ...], "width": W | None, "height": H | None}``; an empty path when absent.
    """
    by_role = {f.role: f.sha256 for f in files}
    path: list[list[float]] = []
    width = height = None
    track = media.read(by_role["track"]) if "track" in by_role else None
    if track is not None:
        path = [[float(x), float(y)] for x, y in json.loads(track).get("image_xy", [])]
    scene = media.read(by_role["scene"]) if "scene" in by_role else None
    if scene is not None and json.loads(scene).get("image_size"):
        width, height = (int(v) for v in json.loads(scene)["image_size"])
    return {"path": path, "width": width, "height": height}


def audit(conn: sqlite3.Connection, operator: Principal, action: str, violation_id: str, detail: str = "") -> None:
    """Record who did what to which violation, and when."""
    at = datetime.now(UTC).isoformat()
    row = AuditRow(at, operator.user_id, operator.username, _district(operator), action, violation_id, detail)
    store.add_audit(conn, row)


def audit_trail(conn: sqlite3.Connection, violation_id: str) -> list[dict[str, str]]:
    """Audit rows of one violation, oldest first."""
    return store.audit_trail(conn, violation_id)


def _decide(conn: sqlite3.Connection, operator: Principal, violation_id: str, verdict: str, reason: str | None) -> str:
    now = datetime.now(UTC).isoformat()
    if not store.decide(conn, violation_id, _district(operator), (verdict, reason), (operator.user_id, now)):
        current = get_violation(conn, operator, violation_id)
        raise ConflictError("Already decided", f"violation {violation_id} is {current.state}, not queued")
    return now


def police_payload(record: ViolationRecord, files: Sequence[EvidenceFile], operator: Principal) -> dict[str, Any]:
    """What the police system receives for a confirmed violation."""
    return {
        "violation": record.kind,
        "plate": record.plate,
        "plate_read": record.plate_read,
        "plate_raw": record.plate_raw,
        "plate_corrected_by_operator": record.plate_corrected is not None,
        "vehicle_class": record.vehicle_class,
        "captured_at": record.captured_at,
        "clock_source": record.clock_source,
        "camera_id": record.camera_id,
        "district": record.district,
        "location": record.location,
        "speed_kmh": record.speed_kmh,
        "signal": {"state": record.signal_state, "source": record.signal_source},
        "evidence_sha256": record.evidence_sha256,
        "evidence_status": record.evidence_status,
        "evidence_files": [asdict(f) for f in files],
        "confirmed_by": operator.username,
        "confirmed_at": record.decided_at,
    }


def confirm(conn: sqlite3.Connection, operator: Principal, violation_id: str, note: str = "") -> ViolationRecord:
    """Confirm a queued violation and queue exactly one signed police notification (same transaction).

    Raises:
        NotFoundError: unknown, or of another district.
        ConflictError: already decided.
    """
    _decide(conn, operator, violation_id, "confirmed", None)
    record = get_violation(conn, operator, violation_id)
    files = evidence_files(conn, violation_id)
    summary, _ = render(
        "police_violation",
        "ru",
        violation=record.kind,
        plate=record.plate or "?",
        time=datetime.fromisoformat(record.captured_at),
        location=record.location or record.camera_id,
    )
    enqueue_police(conn, violation_id=violation_id, payload=police_payload(record, files, operator), summary=summary)
    audit(conn, operator, "confirm", violation_id, note)
    return record


def reject(conn: sqlite3.Connection, operator: Principal, violation_id: str, reason: str) -> ViolationRecord:
    """Reject a queued violation with the operator's reason (nothing goes to the police)."""
    _decide(conn, operator, violation_id, "rejected", reason)
    audit(conn, operator, "reject", violation_id, reason)
    return get_violation(conn, operator, violation_id)


def normalise_plate(text: str) -> str:
    """Upper-case, without spaces and dashes.

    Raises:
        BadInputError: unless 4-12 Latin letters and digits remain.
    """
    plate = re.sub(r"[\s-]", "", text).upper()
    if not PLATE.match(plate):
        raise BadInputError("Bad plate", f"{text!r} is not 4-12 Latin letters and digits (e.g. 123ABC02)")
    return plate


def correct_plate(conn: sqlite3.Connection, operator: Principal, violation_id: str, text: str) -> ViolationRecord:
    """Set the operator's plate on a queued violation; the camera's read stays in ``plate_read``."""
    before = get_violation(conn, operator, violation_id)
    if before.state != "queued":
        raise ConflictError("Already decided", f"violation {violation_id} is {before.state}; the plate is final")
    plate = normalise_plate(text)
    store.set_plate(conn, violation_id, plate)
    audit(conn, operator, "correct_plate", violation_id, f"{before.plate or '-'} -> {plate}")
    return get_violation(conn, operator, violation_id)


def delivery(conn: sqlite3.Connection, violation_id: str) -> dict[str, Any] | None:
    """Police delivery state of a confirmed violation (None before confirmation)."""
    found = state(conn, f"police:{violation_id}")
    if found is None:
        return None
    return {
        "status": found.status,
        "attempts": found.attempts,
        "last_error": found.last_error,
        "receipt": found.provider_id,
        "sent_at": None if found.sent_at is None else found.sent_at.isoformat(),
    }
