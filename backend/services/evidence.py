"""Evidence on the backend: the package re-checked on arrival against the camera's REGISTERED key, the chain head
anchored per camera, the package re-checked again before a hand-off, and what the review page shows of it.

Trust: a package verifies only when it is signed by the key the platform admin registered with the camera
(``devices.evidence_public_key``); a camera without a registered key gets every package marked unverified (no
trust on first use). Anchor: ``evidence_heads`` holds each camera's newest ``(seq, manifest sha256)``; a verified
package must extend it (``seq`` = head + 1 and ``prev_manifest_sha256`` = head hash). A lower or equal ``seq``
(the device's chain was truncated and rewritten, or rolled back) or a package that does not link (a fork) is
recorded in ``evidence_conflicts`` and the violation's evidence is not verified; a gap (packages never received)
is recorded and the head moves on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import uuid
from typing import Any

from cryptography.exceptions import InvalidSignature

from backend.services.errors import ConflictError, NotFoundError
from backend.services.media import MediaVault
from backend.store import devices
from backend.store import evidence as heads
from backend.store import violations as store
from backend.store.evidence import ChainConflict, ChainHead
from backend.store.violations import EvidenceFile, ViolationRecord
from edge.traffic.evidence_verify import check_signature, verify_uploaded
from kuzet.contracts import ViolationEvent

logger = logging.getLogger(__name__)

VERIFIED = "verified"


def evidence_status(
    event: ViolationEvent, media: MediaVault, registered_key: str | None
) -> tuple[str, dict[str, Any] | None]:
    """Re-check the event's evidence package from the uploaded files (``edge.traffic.evidence_verify``).

    Returns:
        ``(status, manifest)``: ``verified`` or the first problem, and the parsed manifest when its signature
        verified with the registered key (else None).
    """
    by_role = {a.role: a.sha256 for a in event.attachments}
    if event.evidence_sha256 is None:
        return "no evidence package referenced", None
    if by_role.get("manifest") != event.evidence_sha256:
        return "the manifest attachment is not the package named by evidence_sha256", None
    manifest = media.read(event.evidence_sha256)
    signature = media.read(by_role["signature"]) if "signature" in by_role else None
    if manifest is None or signature is None:
        return "the manifest or its signature was not uploaded", None
    problem, public = verify_uploaded(manifest, signature, set(by_role.values()), event.camera_id, registered_key)
    trusted = public is not None and registered_key is not None and public == registered_key.lower()
    return problem or VERIFIED, json.loads(manifest) if trusted else None


def _conflict(conn: sqlite3.Connection, camera_id: str, violation_id: str, kind: str, seqs: tuple[int, int],
              detail: str, now: str) -> str:  # fmt: skip
    heads.add_conflict(conn, ChainConflict(uuid.uuid4().hex, camera_id, violation_id, kind, *seqs, detail, now))
    logger.warning("camera %s evidence chain %s: %s", camera_id, kind, detail)
    return detail


def anchor(conn: sqlite3.Connection, event: ViolationEvent, manifest: dict[str, Any], now: str) -> str | None:
    """Extend the camera's anchored head with a verified package; the problem when it does not extend it."""
    camera, vid = event.camera_id, str(event.event_id)
    seq, prev, digest = int(manifest["seq"]), str(manifest["prev_manifest_sha256"]), str(event.evidence_sha256)
    head = heads.head(conn, camera)
    at = 0 if head is None else head.seq
    if head is not None and seq <= head.seq:
        detail = (f"chain rollback: package sequence {seq} is not after the anchored head {head.seq}; the camera's"
                  " chain was truncated and rewritten, or an old package was replayed under a new id")  # fmt: skip
        return _conflict(conn, camera, vid, "rollback", (seq, at), detail, now)
    if head is not None and seq == head.seq + 1 and prev != head.manifest_sha256:
        detail = f"chain fork: package {seq} does not link to the anchored package {head.seq}"
        return _conflict(conn, camera, vid, "fork", (seq, at), detail, now)
    if seq > at + 1:
        _conflict(conn, camera, vid, "gap", (seq, at), f"packages {at + 1}..{seq - 1} were never received", now)
    heads.set_head(conn, ChainHead(camera, seq, digest, vid, now))
    return None


def report_head(
    conn: sqlite3.Connection, camera_id: str, seq: int, digest: str, now: str
) -> tuple[ChainHead | None, str | None]:
    """A camera reports its chain's ``HEAD``; it must not be behind, or differ from, the anchored head.

    Returns:
        ``(anchored head or None, problem or None)``; a problem (the reported head is behind the anchored one:
        truncation, rollback; or names another package at the anchored sequence: a rewritten chain) is recorded
        as a conflict, and the caller answers 409 after committing it (``refuse_head``).
    """
    head = heads.head(conn, camera_id)
    if head is None or not (seq < head.seq or (seq == head.seq and digest != head.manifest_sha256)):
        return head, None
    what = "behind" if seq < head.seq else "a different package at"
    detail = f"the camera reports head {seq} ({digest[:12]}...), {what} the anchored head {head.seq}"
    return head, _conflict(conn, camera_id, "", "reported_head", (seq, head.seq), detail, now)


def refuse_head(head: ChainHead | None, problem: str) -> ConflictError:
    """The 409 of a reported head behind the anchored one."""
    return ConflictError("Evidence chain rolled back", problem, anchored_seq=None if head is None else head.seq)


def chain_state(conn: sqlite3.Connection, camera_id: str) -> dict[str, Any]:
    """The camera's registered key, anchored head and recorded conflicts (for the admin and the CLI's --anchor).

    Raises:
        NotFoundError: no such camera.
    """
    device = devices.get(conn, camera_id)
    if device is None:
        raise NotFoundError("Unknown camera", f"no camera {camera_id!r} is registered")
    head = heads.head(conn, camera_id)
    return {
        "camera_id": camera_id,
        "evidence_public_key": device.evidence_public_key,
        "head": None if head is None else {"seq": head.seq, "manifest_sha256": head.manifest_sha256,
                                           "violation_id": head.violation_id, "updated_at": head.updated_at},
        "conflicts": [
            {"kind": c.kind, "seq": c.seq, "anchored_seq": c.anchored_seq, "detail": c.detail, "at": c.at,
             "violation_id": c.violation_id or None}
            for c in heads.conflicts(conn, camera_id)
        ],
    }  # fmt: skip


def _file_problems(manifest: dict[str, Any], vault: MediaVault) -> list[str]:
    problems = []
    for entry in manifest.get("files", []):
        data = vault.read(str(entry.get("sha256")))
        if data is None:
            problems.append(f"evidence file {entry.get('name')} is missing")
        elif hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            problems.append(f"evidence file {entry.get('name')} does not match its hash")
    return problems


def recheck(conn: sqlite3.Connection, vault: MediaVault, record: ViolationRecord) -> list[str]:
    """Why a violation's evidence cannot be handed off now (empty: it verifies): its status on arrival, and now the
    manifest, its signature with the camera's registered key and every listed file in the vault."""
    reasons = [] if record.evidence_status == VERIFIED else [f"evidence not verified: {record.evidence_status}"]
    by_role = {f.role: f.sha256 for f in store.evidence_files(conn, record.violation_id)}
    manifest = vault.read(record.evidence_sha256) if record.evidence_sha256 else None
    signature = vault.read(by_role["signature"]) if "signature" in by_role else None
    device = devices.get(conn, record.camera_id)
    key = None if device is None else device.evidence_public_key
    if manifest is None or signature is None:
        return [*reasons, "the signed manifest or its signature is missing"]
    if key is None:
        return [*reasons, f"camera {record.camera_id} has no registered evidence key"]
    try:
        check_signature(manifest, signature, key)
    except (ValueError, InvalidSignature):
        return [*reasons, "the manifest is not signed by the camera's registered key"]
    return reasons + _file_problems(json.loads(manifest), vault)


def manifest_of(vault: MediaVault, record: ViolationRecord) -> dict[str, Any] | None:
    """The violation's parsed manifest, or None when absent."""
    data = vault.read(record.evidence_sha256) if record.evidence_sha256 else None
    return None if data is None else dict(json.loads(data))


def review_view(vault: MediaVault, record: ViolationRecord, files: list[EvidenceFile]) -> dict[str, Any]:
    """What the review page needs beyond the record: media URLs by purpose, speed +- sigma, signal, calibration,
    clock and the verification status with its reasons."""
    base = f"/api/v1/violations/{record.violation_id}/media"
    by_role = {f.role: f"{base}/{f.sha256}" for f in files}
    manifest = manifest_of(vault, record) or {}
    violation = manifest.get("violation") or {}
    calibration = manifest.get("calibration") or {}
    details = violation.get("details") or {}
    return {
        "media": {
            "clip": by_role.get("clip"),
            "clip_annotated": by_role.get("clip_annotated"),
            "annotated": by_role.get("annotated_at"),
            "plate_crop": by_role.get("plate_crop"),
            "frames": {r.rsplit("_", 1)[-1]: u for r, u in by_role.items() if r.startswith("frame_")},
        },
        "verification": {"verified": record.evidence_status == VERIFIED, "status": record.evidence_status},
        "speed": {**{k: v for k, v in (manifest.get("speed") or {}).items() if k != "config"}},
        "signal": {**(manifest.get("signal") or {}), "timeline": details.get("signal_timeline")},
        "decision": details,
        "calibration": {"version": calibration.get("version"), "reprojection": calibration.get("reprojection")},
        "clock": manifest.get("clock"),
        "camera_health": manifest.get("camera_health"),
        "chain": {"seq": manifest.get("seq"), "prev_manifest_sha256": manifest.get("prev_manifest_sha256")},
    }
