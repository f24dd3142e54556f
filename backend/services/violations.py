"""Traffic violations: stored from ingested ViolationEvents, reviewed by district operators, sent to the police.

``ViolationEventHandler`` runs inside the ingest transaction for new events only, so a replayed event is stored
once. Each violation keeps its evidence files (frames, clips, annotated frame, plate crop, track, scene, the signed
manifest and its signature) by role, and the result of re-checking the package on arrival against the camera's
registered key and the anchored chain head (``backend.services.evidence``).

States: ``queued`` -> ``confirmed`` (one officer-signed hand-off and one police outbox row, written in the same
transaction) or ``rejected`` (with a reason). Confirming is refused (409, with the reasons) unless the evidence
verifies now and a valid plate is present (read by the camera, or corrected by the operator in the request); a
refusal writes nothing. A plate correction keeps the original read. Every operator action is in
``violation_audit``.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backend.services import evidence as ev
from backend.services import handoff as ho
from backend.services.auth import Principal
from backend.services.errors import BadInputError, ConflictError, NotFoundError
from backend.services.ingest import AnyEvent
from backend.services.media import MediaVault
from backend.store import devices, handoffs
from backend.store import media as media_store
from backend.store import violations as store
from backend.store.handoffs import Handoff
from backend.store.violations import AuditRow, EvidenceFile, ViolationRecord
from kuzet.contracts import ViolationEvent
from notifications.outbox import enqueue_police, state
from notifications.police_handoff import envelope
from notifications.templates import render

logger = logging.getLogger(__name__)

PLATE = re.compile(r"^[A-Z0-9]{4,12}$")
VERIFIED = ev.VERIFIED


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


def _files(event: ViolationEvent, manifest: dict[str, Any] | None) -> list[EvidenceFile]:
    """Evidence files by role; a verified manifest's media type wins (clips travel as octet-stream, are MP4)."""
    declared = {str(f["sha256"]): str(f.get("media_type", "")) for f in (manifest or {}).get("files", [])}
    return [
        EvidenceFile(a.role, a.sha256, declared.get(a.sha256) or a.media_type)
        if declared.get(a.sha256) == "video/mp4"
        else EvidenceFile(a.role, a.sha256, a.media_type)
        for a in event.attachments
    ]


class ViolationEventHandler:
    """Stores new ViolationEvents in the review queue of their camera's district."""

    kinds = frozenset({"violation"})

    def __init__(self, media: MediaVault) -> None:
        self.media = media

    def handle(self, conn: sqlite3.Connection, events: Sequence[AnyEvent]) -> None:
        """Insert one queued violation (and its evidence files) per new event; anchor the camera's chain."""
        now = datetime.now(UTC).isoformat()
        cameras = {c: devices.get(conn, c) for c in sorted({e.camera_id for e in events})}  # once per batch
        for event in events:
            if not isinstance(event, ViolationEvent):
                continue
            camera = cameras[event.camera_id]
            if camera is None or camera.kind != "traffic":
                kind = None if camera is None else camera.kind
                logger.warning("violation %s from %s camera %s not queued", event.event_id, kind, event.camera_id)
                continue
            status, manifest = ev.evidence_status(event, self.media, camera.evidence_public_key)
            if status == VERIFIED and manifest is not None:
                status = ev.anchor(conn, event, manifest, now) or VERIFIED
            if status != VERIFIED:
                logger.warning("violation %s: evidence %s", event.event_id, status)
            store.insert(conn, _record(event, camera.site, status, now), _files(event, manifest))


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


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What an operator sends with a confirmation: a note, the plate if they correct it, and, for operators
    holding their own key, the signature of the hand-off bytes and the time they signed."""

    note: str = ""
    plate: str | None = None
    signature: str | None = None
    signed_at: str | None = None


def _refuse(reasons: list[str], violation_id: str) -> ConflictError:
    return ConflictError(
        "Cannot hand off", f"violation {violation_id} cannot be confirmed: {'; '.join(reasons)}", reasons=reasons
    )


def _plate_to_act_on(record: ViolationRecord, given: str | None) -> str:
    plate = normalise_plate(given) if given is not None else record.plate
    if plate is None or not PLATE.match(plate):
        raise _refuse(["no valid plate: read none, and none corrected (send plate with the confirmation)"],
                      record.violation_id)  # fmt: skip
    return plate


def prepare_handoff(
    conn: sqlite3.Connection, vault: MediaVault, operator: Principal, violation_id: str, request: Confirmation
) -> tuple[ViolationRecord, dict[str, Any], handoffs.OperatorKey]:
    """Check everything a hand-off needs, writing nothing: queued, a valid plate, evidence that verifies now, an
    officer key; returns the record, the payload to sign and the officer's key.

    Raises:
        NotFoundError: unknown, or of another district.
        ConflictError: already decided, no plate, evidence that does not verify, no officer key (with ``reasons``).
    """
    record = get_violation(conn, operator, violation_id)
    if record.state != "queued":
        raise ConflictError("Already decided", f"violation {violation_id} is {record.state}, not queued")
    plate = _plate_to_act_on(record, request.plate)
    reasons = ev.recheck(conn, vault, record)
    if reasons:
        raise _refuse(reasons, violation_id)
    key = handoffs.key_of(conn, operator.user_id)
    if key is None:
        raise _refuse([f"operator {operator.username} has no signing key; the admin must register one"], violation_id)
    files = store.evidence_files(conn, violation_id)
    by_role = {f.role: f.sha256 for f in files}
    camera = devices.get(conn, record.camera_id)
    manifest, signature = vault.read(record.evidence_sha256 or ""), vault.read(by_role.get("signature", ""))
    assert manifest is not None and signature is not None and camera is not None  # recheck passed
    signed_at = request.signed_at or datetime.now(UTC).isoformat()
    payload = ho.handoff_payload(
        record,
        (manifest, signature, str(camera.evidence_public_key)),
        files,
        (operator.user_id, operator.username, key.public_key),
        (plate, signed_at),
    )
    return record, payload, key


def confirm(
    conn: sqlite3.Connection,
    vault: MediaVault,
    master: bytes,
    operator: Principal,
    violation_id: str,
    request: Confirmation | None = None,
) -> ViolationRecord:
    """Confirm a queued violation: the officer signs the hand-off, and exactly one police notification carrying it
    is queued (same transaction). A refusal writes nothing.

    Args:
        master: the server's master key (sealed officer keys are derived from it).

    Raises:
        NotFoundError: unknown, or of another district.
        ConflictError: already decided, or the hand-off is refused (``reasons``).
        BadInputError: a malformed plate or signing time.
    """
    request = request or Confirmation()
    if request.signed_at is not None:
        ho.check_signed_at(request.signed_at)
    record, payload, key = prepare_handoff(conn, vault, operator, violation_id, request)
    data = ho.handoff_bytes(payload)
    if key.custody == "sealed":
        signature = ho.sign_sealed(key, master, data)
    else:
        signature = ho.check_client_signature(key, data, request.signature)
    if payload["plate"] != record.plate:
        store.set_plate(conn, violation_id, payload["plate"])
        audit(conn, operator, "correct_plate", violation_id, f"{record.plate or '-'} -> {payload['plate']}")
    _decide(conn, operator, violation_id, "confirmed", None)
    handoffs.add_handoff(
        conn, Handoff(violation_id, operator.user_id, key.public_key, data.decode(), signature, payload["signed_at"])
    )
    summary, _ = render(
        "police_violation",
        "ru",
        violation=record.kind,
        plate=payload["plate"],
        time=datetime.fromisoformat(record.captured_at),
        location=record.location or record.camera_id,
    )
    enqueue_police(conn, violation_id=violation_id, payload=envelope(data, signature, key.public_key), summary=summary)
    audit(conn, operator, "confirm", violation_id, request.note)
    return get_violation(conn, operator, violation_id)


def handoff_of(conn: sqlite3.Connection, violation_id: str) -> dict[str, Any] | None:
    """The signed hand-off of a confirmed violation (officer, key, signature, time), or None."""
    found = handoffs.handoff_of(conn, violation_id)
    if found is None:
        return None
    officer = json.loads(found.payload)["officer"]
    return {"officer": officer, "signature": found.signature, "signed_at": found.signed_at}


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
