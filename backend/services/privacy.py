"""Minors' privacy: consent, face templates encrypted at rest, the versioned gallery, deletion and retention.

Templates and the one enrolment thumbnail are sealed with AES-GCM (key from ``settings.template_key``; the row id is
the associated data, so a ciphertext cannot be moved to another row). No consent -> no template can be stored, and
withdrawing consent deletes the pupil's templates; every add or remove bumps the school's gallery version so door
devices pull only the changes. Every attachment a school's door uploaded (the face snapshots) is purged
``snapshot_retention_days`` after the backend received it, and uploads nothing cites after a grace period.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from numpy.typing import NDArray

from backend.services import media as media_service
from backend.services.errors import ConflictError
from backend.services.media import MediaVault
from backend.store import attendance, events, faces, retention, schools
from backend.store.faces import Consent, SealedTemplate
from kuzet.contracts import GalleryDelta, GalleryTemplate
from notifications import outbox

logger = logging.getLogger(__name__)


def seal(key: bytes, plaintext: bytes, associated: str) -> tuple[bytes, bytes]:
    """(nonce, ciphertext) of ``plaintext`` bound to ``associated``."""
    nonce = secrets.token_bytes(12)
    return nonce, AESGCM(key).encrypt(nonce, plaintext, associated.encode())


def unseal(key: bytes, nonce: bytes, ciphertext: bytes, associated: str) -> bytes:
    """Decrypt and authenticate (raises cryptography's InvalidTag on a wrong key or a moved row)."""
    return AESGCM(key).decrypt(nonce, ciphertext, associated.encode())


def has_consent(conn: sqlite3.Connection, pupil_id: str) -> bool:
    """Whether a guardian's consent to face enrolment is on record and not withdrawn."""
    return faces.consent_granted(conn, pupil_id)


def bump(conn: sqlite3.Connection, school_id: str, changes: list[tuple[str, str]]) -> int:
    """Record (template_id, op) changes under the school's next gallery version; returns that version."""
    version = faces.gallery_version(conn, school_id) + 1
    faces.add_gallery_version(conn, school_id, version, changes)
    return version


def store_templates(
    conn: sqlite3.Connection,
    key: bytes,
    pupil_id: str,
    model: str,
    embeddings: NDArray[np.float32],
    thumbnail_jpeg: bytes | None,
) -> list[str]:
    """Replace a consented pupil's templates with ``embeddings`` (M, D) and keep one thumbnail.

    Raises:
        ConflictError: 409 when there is no consent on record.
    """
    if not has_consent(conn, pupil_id):
        raise ConflictError("No consent", f"pupil {pupil_id} has no guardian consent on record; no face is stored")
    pupil = schools.pupil(conn, pupil_id)
    assert pupil is not None  # consent rows cascade with their pupil
    old = faces.template_ids(conn, pupil_id)
    faces.delete_templates(conn, pupil_id)
    sealed: list[SealedTemplate] = []
    for vector in np.asarray(embeddings, np.float32):
        template_id = uuid.uuid4().hex
        nonce, blob = seal(key, vector.astype("<f4").tobytes(), template_id)
        sealed.append(SealedTemplate(template_id, pupil_id, pupil.school_id, model, nonce, blob))
    faces.insert_templates(conn, sealed, datetime.now(UTC).isoformat())
    if thumbnail_jpeg is not None:
        faces.save_thumbnail(conn, pupil_id, *seal(key, thumbnail_jpeg, f"thumb:{pupil_id}"))
    ids = [t.template_id for t in sealed]
    bump(conn, pupil.school_id, [(t, "remove") for t in old] + [(t, "add") for t in ids])
    return ids


def thumbnail(conn: sqlite3.Connection, key: bytes, pupil_id: str) -> bytes | None:
    """The decrypted enrolment thumbnail (JPEG) of the pupil, or None when there is none."""
    sealed = faces.thumbnail(conn, pupil_id)
    return None if sealed is None else unseal(key, sealed[0], sealed[1], f"thumb:{pupil_id}")


def forget_face(conn: sqlite3.Connection, pupil_id: str) -> int:
    """Delete a pupil's templates and thumbnail (consent withdrawn or pupil deleted); returns templates removed."""
    pupil = schools.pupil(conn, pupil_id)
    old = faces.template_ids(conn, pupil_id)
    faces.delete_templates(conn, pupil_id)
    faces.delete_thumbnail(conn, pupil_id)
    if old and pupil is not None:
        bump(conn, pupil.school_id, [(t, "remove") for t in old])
    return len(old)


def set_consent(conn: sqlite3.Connection, pupil_id: str, granted: bool, given_by: str, recorded_by: str) -> None:
    """Record consent (or its withdrawal, which deletes the templates)."""
    faces.record_consent(conn, Consent(pupil_id, granted, given_by, recorded_by, datetime.now(UTC).isoformat()))
    if not granted:
        forget_face(conn, pupil_id)


def gallery_delta(conn: sqlite3.Connection, key: bytes, school_id: str, since: int) -> GalleryDelta:
    """The changes of a school's gallery after version ``since`` (0 or a future version: the whole gallery)."""
    current = faces.gallery_version(conn, school_id)
    if since <= 0 or since > current:
        since = 0
        wanted = None
        removed: list[str] = []
    else:
        last = faces.last_changes_since(conn, school_id, since)
        wanted = {t for t, op in last if op == "add"}
        removed = sorted(t for t, op in last if op == "remove")
    added = []
    for t in faces.consented_templates(conn, school_id):
        if wanted is not None and t.template_id not in wanted:
            continue
        vector = np.frombuffer(unseal(key, t.nonce, t.ciphertext, t.template_id), "<f4")
        added.append(
            GalleryTemplate(
                template_id=t.template_id, pupil_id=t.pupil_id, model=t.model, embedding=tuple(vector.tolist())
            )
        )
    return GalleryDelta(
        school_id=school_id, from_version=since, to_version=current, added=tuple(added), removed=tuple(removed)
    )


def _forget_snapshots(conn: sqlite3.Connection, vault: MediaVault, shas: set[str]) -> int:
    """Delete a deleted pupil's snapshots unless another entry event still cites them; a citation by any other
    product never keeps a child's snapshot."""
    gone = [sha for sha in sorted(shas) if not events.is_referenced(conn, sha, kind="entry")]
    return media_service.forget(conn, vault, gone)


def delete_pupil(conn: sqlite3.Connection, vault: MediaVault, pupil_id: str) -> int:
    """Delete a pupil with templates, thumbnail, events, passes, attendance, messages naming them and their
    snapshots; returns media removed."""
    forget_face(conn, pupil_id)
    shas: set[str] = set()
    for event_id in attendance.pass_event_ids(conn, pupil_id):
        shas.update(events.attachment_shas(conn, event_id))
        events.delete(conn, event_id)
        for prefix in (f"pass:{event_id}:", f"fever_alert:{event_id}:"):  # queued/sent texts name the pupil
            outbox.delete_prefix(conn, prefix)
    attendance.delete_days(conn, pupil_id)
    schools.delete_pupil(conn, pupil_id)
    return _forget_snapshots(conn, vault, shas)


def purge_snapshots(conn: sqlite3.Connection, vault: MediaVault, retention_days: int, now: datetime) -> int:
    """Delete every attachment a school's door uploaded more than ``retention_days`` before ``now``, by the
    backend's receipt time (a capture time in 2099 keeps nothing alive); returns files removed.

    Every reference goes with it, whatever product made it (an event link, a violation's evidence row, an unknown
    face's snapshot); the events themselves stay (attendance history), only the face images go.
    """
    cutoff = (now - timedelta(days=retention_days)).isoformat()
    return media_service.forget(conn, vault, retention.media_of_kind_stored_before(conn, "school", cutoff))


def purge_uncited(conn: sqlite3.Connection, vault: MediaVault, grace_hours: float, now: datetime) -> int:
    """Delete uploads that nothing cites ``grace_hours`` after their receipt (the grace lets a device upload first
    and send the citing event after); returns files removed."""
    cutoff = (now - timedelta(hours=grace_hours)).isoformat()
    return media_service.forget(conn, vault, retention.uncited_media_stored_before(conn, cutoff))
