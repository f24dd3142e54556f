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
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from backend.errors import Problem
from backend.services.ingest import AnyEvent
from backend.services.operators import Operator
from backend.store.media import media_path
from kuzet.contracts import ViolationEvent
from notifications.outbox import enqueue_police, state
from notifications.templates import render

logger = logging.getLogger(__name__)

PLATE = re.compile(r"^[A-Z0-9]{4,12}$")
VERIFIED = "verified"
_COLUMNS = (
    "violation_id, camera_id, district, kind, vehicle_class, track_id, captured_at, clock_source, received_at,"
    " location, speed_kmh, signal_state, signal_source, plate_raw, plate_read, plate_corrected, evidence_sha256,"
    " evidence_status, state, reject_reason, decided_by, decided_at"
)


@dataclass(frozen=True, slots=True)
class ViolationRecord:
    """One stored violation as the review API and pages show it."""

    violation_id: str
    camera_id: str
    district: str
    kind: str
    vehicle_class: str
    track_id: int
    captured_at: str
    clock_source: str
    received_at: str
    location: str | None
    speed_kmh: float | None
    signal_state: str | None
    signal_source: str | None
    plate_raw: str | None
    plate_read: str | None
    plate_corrected: str | None
    evidence_sha256: str | None
    evidence_status: str
    state: str
    reject_reason: str | None
    decided_by: str | None
    decided_at: str | None

    @property
    def plate(self) -> str | None:
        """The plate to act on: the operator's correction, else the camera's normalised read."""
        return self.plate_corrected or self.plate_read


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """One evidence file of a violation."""

    role: str
    sha256: str
    media_type: str


def _media(media_dir: Path, sha256: str) -> bytes | None:
    path = media_path(media_dir, sha256)
    return path.read_bytes() if path.is_file() else None


def check_evidence(event: ViolationEvent, media_dir: Path, pinned_key: str | None) -> tuple[str, str | None]:
    """Re-check the event's evidence package from the uploaded files.

    Args:
        event: the ingested violation.
        media_dir: where the uploaded attachments are.
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
    manifest_bytes = _media(media_dir, event.evidence_sha256)
    signature = _media(media_dir, by_role.get("signature", ""))
    if manifest_bytes is None or signature is None:
        return "the manifest or its signature was not uploaded", None
    try:
        manifest = json.loads(manifest_bytes)
        public = str(manifest["public_key"]).lower()
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public)).verify(
            bytes.fromhex(signature.decode().strip()), manifest_bytes
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        return f"the manifest or signature is malformed ({type(exc).__name__})", None
    except InvalidSignature:
        return "the manifest signature does not verify with the key in the manifest", None
    uploaded = set(by_role.values())
    missing = [f["name"] for f in manifest.get("files", []) if f.get("sha256") not in uploaded]
    if missing:
        return f"listed files missing or changed: {', '.join(missing[:5])}", public
    if manifest.get("camera_id") != event.camera_id:
        return f"the package is from camera {manifest.get('camera_id')!r}, not {event.camera_id!r}", public
    if pinned_key is not None and public != pinned_key:
        return f"signed with key {public[:16]}..., not the camera's pinned key {pinned_key[:16]}...", public
    return VERIFIED, public


def _pinned_key(conn: sqlite3.Connection, camera_id: str) -> str | None:
    row = conn.execute("SELECT public_key FROM evidence_keys WHERE camera_id = ?", (camera_id,)).fetchone()
    return None if row is None else str(row[0])


def reset_evidence_key(conn: sqlite3.Connection, camera_id: str) -> bool:
    """Forget a camera's pinned evidence key (a replaced camera); its next verified package pins the new one."""
    return conn.execute("DELETE FROM evidence_keys WHERE camera_id = ?", (camera_id,)).rowcount == 1


class ViolationEventHandler:
    """Stores new ViolationEvents in the review queue of their camera's district."""

    kinds = frozenset({"violation"})

    def __init__(self, media_dir: Path) -> None:
        self.media_dir = media_dir

    def handle(self, conn: sqlite3.Connection, events: Sequence[AnyEvent]) -> None:
        """Insert one queued violation (and its evidence files) per new event."""
        now = datetime.now(UTC).isoformat()
        for event in events:
            if not isinstance(event, ViolationEvent):
                continue
            site, kind = conn.execute(
                "SELECT site, kind FROM devices WHERE camera_id = ?", (event.camera_id,)
            ).fetchone()
            if kind != "traffic":
                logger.warning("violation %s from %s camera %s not queued", event.event_id, kind, event.camera_id)
                continue
            vid = str(event.event_id)
            pinned = _pinned_key(conn, event.camera_id)
            status, public = check_evidence(event, self.media_dir, pinned)
            if status != VERIFIED:
                logger.warning("violation %s: evidence %s", event.event_id, status)
            elif pinned is None and public is not None:
                conn.execute(
                    "INSERT INTO evidence_keys(camera_id, public_key, pinned_at, first_violation_id) VALUES (?,?,?,?)",
                    (event.camera_id, public, now, vid),
                )
                logger.info("camera %s: evidence key %s... pinned", event.camera_id, public[:16])
            conn.execute(
                f"INSERT OR IGNORE INTO violations({_COLUMNS}) VALUES ({','.join('?' * 22)})",
                (
                    *(vid, event.camera_id, site, event.violation, event.vehicle_class, event.track_id),
                    *(event.captured_at.isoformat(), event.clock_source.value, now, event.location),
                    *(event.speed_kmh, event.signal_state, event.signal_source, event.plate_raw),
                    *(event.plate_normalised, None, event.evidence_sha256, status, "queued", None, None, None),
                ),
            )
            conn.executemany(
                "INSERT OR IGNORE INTO violation_files(violation_id, role, sha256, media_type) VALUES (?, ?, ?, ?)",
                [(vid, a.role, a.sha256, a.media_type) for a in event.attachments],
            )


def list_violations(
    conn: sqlite3.Connection,
    district: str,
    states: Sequence[str] = ("queued",),
    limit: int = 200,
    newest_first: bool = False,
) -> list[ViolationRecord]:
    """Violations of one district in the given states, oldest capture first (the queue order) unless asked."""
    marks = ",".join("?" * len(states))
    order = "DESC" if newest_first else "ASC"
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM violations WHERE district = ? AND state IN ({marks})"
        f" ORDER BY captured_at {order}, violation_id {order} LIMIT ?",
        (district, *states, limit),
    ).fetchall()
    return [ViolationRecord(*r) for r in rows]


def get_violation(conn: sqlite3.Connection, operator: Operator, violation_id: str) -> ViolationRecord:
    """One violation of the operator's district.

    Raises:
        Problem: 404 when it does not exist or belongs to another district (the two are not distinguished).
    """
    row = conn.execute(f"SELECT {_COLUMNS} FROM violations WHERE violation_id = ?", (violation_id,)).fetchone()
    if row is None or row[2] != operator.district:
        raise Problem(404, "Unknown violation", f"no violation {violation_id} in district {operator.district}")
    return ViolationRecord(*row)


def evidence_files(conn: sqlite3.Connection, violation_id: str) -> list[EvidenceFile]:
    """The evidence files of a violation, by role."""
    rows = conn.execute(
        "SELECT role, sha256, media_type FROM violation_files WHERE violation_id = ? ORDER BY role", (violation_id,)
    ).fetchall()
    return [EvidenceFile(*r) for r in rows]


def track_overlay(media_dir: Path, files: Sequence[EvidenceFile]) -> dict[str, Any]:
    """The track path (image pixels) and the frame size, read from the package's ``track.json`` / ``scene.json``.

    Returns:
        ``{"path": [[x, y], ...], "width": W | None, "height": H | None}``; an empty path when absent.
    """
    by_role = {f.role: f.sha256 for f in files}
    path: list[list[float]] = []
    width = height = None
    track = _media(media_dir, by_role.get("track", ""))
    if track is not None:
        path = [[float(x), float(y)] for x, y in json.loads(track).get("image_xy", [])]
    scene = _media(media_dir, by_role.get("scene", ""))
    if scene is not None and json.loads(scene).get("image_size"):
        width, height = (int(v) for v in json.loads(scene)["image_size"])
    return {"path": path, "width": width, "height": height}


def audit(conn: sqlite3.Connection, operator: Operator, action: str, violation_id: str, detail: str = "") -> None:
    """Record who did what to which violation, and when."""
    conn.execute(
        "INSERT INTO violation_audit(at, operator_id, username, district, action, violation_id, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            datetime.now(UTC).isoformat(),
            operator.operator_id,
            operator.username,
            operator.district,
            action,
            violation_id,
            detail,
        ),
    )


def audit_trail(conn: sqlite3.Connection, violation_id: str) -> list[dict[str, str]]:
    """Audit rows of one violation, oldest first."""
    rows = conn.execute(
        "SELECT at, username, district, action, detail FROM violation_audit WHERE violation_id = ? ORDER BY audit_id",
        (violation_id,),
    ).fetchall()
    return [dict(zip(("at", "username", "district", "action", "detail"), r, strict=True)) for r in rows]


def _decide(conn: sqlite3.Connection, operator: Operator, violation_id: str, verdict: str, reason: str | None) -> str:
    now = datetime.now(UTC).isoformat()
    cursor = conn.execute(
        "UPDATE violations SET state = ?, reject_reason = ?, decided_by = ?, decided_at = ?"
        " WHERE violation_id = ? AND district = ? AND state = 'queued'",
        (verdict, reason, operator.operator_id, now, violation_id, operator.district),
    )
    if cursor.rowcount != 1:
        current = get_violation(conn, operator, violation_id)
        raise Problem(409, "Already decided", f"violation {violation_id} is {current.state}, not queued")
    return now


def police_payload(record: ViolationRecord, files: Sequence[EvidenceFile], operator: Operator) -> dict[str, Any]:
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


def confirm(conn: sqlite3.Connection, operator: Operator, violation_id: str, note: str = "") -> ViolationRecord:
    """Confirm a queued violation and queue exactly one signed police notification (same transaction).

    Raises:
        Problem: 404 (unknown / other district), 409 (already decided).
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


def reject(conn: sqlite3.Connection, operator: Operator, violation_id: str, reason: str) -> ViolationRecord:
    """Reject a queued violation with the operator's reason (nothing goes to the police)."""
    _decide(conn, operator, violation_id, "rejected", reason)
    audit(conn, operator, "reject", violation_id, reason)
    return get_violation(conn, operator, violation_id)


def normalise_plate(text: str) -> str:
    """Upper-case, without spaces and dashes.

    Raises:
        Problem: 422 unless 4-12 Latin letters and digits remain.
    """
    plate = re.sub(r"[\s-]", "", text).upper()
    if not PLATE.match(plate):
        raise Problem(422, "Bad plate", f"{text!r} is not 4-12 Latin letters and digits (e.g. 123ABC02)")
    return plate


def correct_plate(conn: sqlite3.Connection, operator: Operator, violation_id: str, text: str) -> ViolationRecord:
    """Set the operator's plate on a queued violation; the camera's read stays in ``plate_read``."""
    before = get_violation(conn, operator, violation_id)
    if before.state != "queued":
        raise Problem(409, "Already decided", f"violation {violation_id} is {before.state}; the plate is final")
    plate = normalise_plate(text)
    conn.execute("UPDATE violations SET plate_corrected = ? WHERE violation_id = ?", (plate, violation_id))
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
