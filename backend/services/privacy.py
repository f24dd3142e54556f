"""Minors' privacy: consent, face templates encrypted at rest, the versioned gallery, deletion and retention.

Templates and the one enrolment thumbnail are sealed with AES-GCM (key from ``settings.template_key``; the row id is
the associated data, so a ciphertext cannot be moved to another row). No consent -> no template can be stored, and
withdrawing consent deletes the pupil's templates; every add or remove bumps the school's gallery version so door
devices pull only the changes. Snapshots of entry events are purged after ``snapshot_retention_days``.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from numpy.typing import NDArray

from backend.errors import Problem
from kuzet.contracts import GalleryDelta, GalleryTemplate

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
    row = conn.execute("SELECT granted FROM consents WHERE pupil_id = ?", (pupil_id,)).fetchone()
    return bool(row and row[0])


def bump(conn: sqlite3.Connection, school_id: str, changes: list[tuple[str, str]]) -> int:
    """Record (template_id, op) changes under the school's next gallery version; returns that version."""
    row = conn.execute("SELECT version FROM gallery_versions WHERE school_id = ?", (school_id,)).fetchone()
    version = (row[0] if row else 0) + 1
    conn.execute(
        "INSERT INTO gallery_versions(school_id, version) VALUES (?, ?)"
        " ON CONFLICT(school_id) DO UPDATE SET version = excluded.version",
        (school_id, version),
    )
    conn.executemany(
        "INSERT INTO gallery_changes(school_id, version, template_id, op) VALUES (?, ?, ?, ?)",
        [(school_id, version, t, op) for t, op in changes],
    )
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
        Problem: 409 when there is no consent on record.
    """
    if not has_consent(conn, pupil_id):
        raise Problem(409, "No consent", f"pupil {pupil_id} has no guardian consent on record; no face is stored")
    school_id = conn.execute("SELECT school_id FROM pupils WHERE pupil_id = ?", (pupil_id,)).fetchone()[0]
    old = [r[0] for r in conn.execute("SELECT template_id FROM face_templates WHERE pupil_id = ?", (pupil_id,))]
    conn.execute("DELETE FROM face_templates WHERE pupil_id = ?", (pupil_id,))
    now = datetime.now(UTC).isoformat()
    ids: list[str] = []
    for vector in np.asarray(embeddings, np.float32):
        template_id = uuid.uuid4().hex
        nonce, blob = seal(key, vector.astype("<f4").tobytes(), template_id)
        conn.execute(
            "INSERT INTO face_templates(template_id, pupil_id, school_id, model, nonce, ciphertext, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (template_id, pupil_id, school_id, model, nonce, blob, now),
        )
        ids.append(template_id)
    if thumbnail_jpeg is not None:
        nonce, blob = seal(key, thumbnail_jpeg, f"thumb:{pupil_id}")
        conn.execute(
            "INSERT INTO face_thumbnails(pupil_id, nonce, ciphertext) VALUES (?, ?, ?) ON CONFLICT(pupil_id)"
            " DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext",
            (pupil_id, nonce, blob),
        )
    bump(conn, school_id, [(t, "remove") for t in old] + [(t, "add") for t in ids])
    return ids


def forget_face(conn: sqlite3.Connection, pupil_id: str) -> int:
    """Delete a pupil's templates and thumbnail (consent withdrawn or pupil deleted); returns templates removed."""
    row = conn.execute("SELECT school_id FROM pupils WHERE pupil_id = ?", (pupil_id,)).fetchone()
    old = [r[0] for r in conn.execute("SELECT template_id FROM face_templates WHERE pupil_id = ?", (pupil_id,))]
    conn.execute("DELETE FROM face_templates WHERE pupil_id = ?", (pupil_id,))
    conn.execute("DELETE FROM face_thumbnails WHERE pupil_id = ?", (pupil_id,))
    if old and row is not None:
        bump(conn, row[0], [(t, "remove") for t in old])
    return len(old)


def set_consent(conn: sqlite3.Connection, pupil_id: str, granted: bool, given_by: str, recorded_by: str) -> None:
    """Record consent (or its withdrawal, which deletes the templates)."""
    conn.execute(
        "INSERT INTO consents(pupil_id, granted, given_by, recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(pupil_id) DO UPDATE SET granted = excluded.granted, given_by = excluded.given_by,"
        " recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
        (pupil_id, int(granted), given_by, recorded_by, datetime.now(UTC).isoformat()),
    )
    if not granted:
        forget_face(conn, pupil_id)


def gallery_delta(conn: sqlite3.Connection, key: bytes, school_id: str, since: int) -> GalleryDelta:
    """The changes of a school's gallery after version ``since`` (0 or a future version: the whole gallery)."""
    row = conn.execute("SELECT version FROM gallery_versions WHERE school_id = ?", (school_id,)).fetchone()
    current = row[0] if row else 0
    if since <= 0 or since > current:
        since = 0
        wanted = None
        removed: list[str] = []
    else:
        last = conn.execute(
            "SELECT template_id, op FROM gallery_changes c WHERE school_id = ? AND version > ? AND version = ("
            "SELECT MAX(version) FROM gallery_changes d WHERE d.school_id = c.school_id"
            " AND d.template_id = c.template_id)",
            (school_id, since),
        ).fetchall()
        wanted = {t for t, op in last if op == "add"}
        removed = sorted(t for t, op in last if op == "remove")
    rows = conn.execute(
        "SELECT t.template_id, t.pupil_id, t.model, t.nonce, t.ciphertext FROM face_templates t"
        " JOIN consents c ON c.pupil_id = t.pupil_id AND c.granted = 1 WHERE t.school_id = ? ORDER BY t.template_id",
        (school_id,),
    ).fetchall()
    added = []
    for template_id, pupil_id, model, nonce, blob in rows:
        if wanted is not None and template_id not in wanted:
            continue
        vector = np.frombuffer(unseal(key, nonce, blob, template_id), "<f4")
        added.append(
            GalleryTemplate(template_id=template_id, pupil_id=pupil_id, model=model, embedding=tuple(vector.tolist()))
        )
    return GalleryDelta(
        school_id=school_id, from_version=since, to_version=current, added=tuple(added), removed=tuple(removed)
    )


def _delete_media(conn: sqlite3.Connection, media_dir: Path, shas: set[str]) -> int:
    removed = 0
    for sha in sorted(shas):
        if conn.execute("SELECT 1 FROM event_attachments WHERE sha256 = ?", (sha,)).fetchone():
            continue  # still referenced by an event we keep
        path = media_dir / sha[:2] / sha
        path.unlink(missing_ok=True)
        conn.execute("DELETE FROM media WHERE sha256 = ?", (sha,))
        removed += 1
    return removed


def delete_pupil(conn: sqlite3.Connection, media_dir: Path, pupil_id: str) -> int:
    """Delete a pupil with templates, thumbnail, events, passes, attendance, messages naming them and their
    snapshots; returns media removed."""
    forget_face(conn, pupil_id)
    events = [r[0] for r in conn.execute("SELECT event_id FROM school_passes WHERE pupil_id = ?", (pupil_id,))]
    shas: set[str] = set()
    for event_id in events:
        shas.update(r[0] for r in conn.execute("SELECT sha256 FROM event_attachments WHERE event_id = ?", (event_id,)))
        conn.execute("DELETE FROM events WHERE event_id = ?", (event_id,))
        for prefix in (f"pass:{event_id}:", f"fever_alert:{event_id}:"):  # queued/sent texts name the pupil
            conn.execute("DELETE FROM outbox WHERE dedupe_key >= ? AND dedupe_key < ?", (prefix, prefix[:-1] + ";"))
    conn.execute("DELETE FROM attendance WHERE pupil_id = ?", (pupil_id,))
    conn.execute("DELETE FROM pupils WHERE pupil_id = ?", (pupil_id,))
    return _delete_media(conn, media_dir, shas)


def purge_snapshots(conn: sqlite3.Connection, media_dir: Path, retention_days: int, now: datetime) -> int:
    """Delete entry-event attachments captured more than ``retention_days`` before ``now``; returns files removed.

    The events themselves stay (attendance history); only the face images go.
    """
    cutoff = (now - timedelta(days=retention_days)).isoformat()
    rows = conn.execute(
        "SELECT a.event_id, a.sha256 FROM event_attachments a JOIN events e ON e.event_id = a.event_id"
        " WHERE e.kind = 'entry' AND e.captured_at < ?",
        (cutoff,),
    ).fetchall()
    conn.executemany("DELETE FROM event_attachments WHERE event_id = ? AND sha256 = ?", rows)
    conn.execute(
        "UPDATE unknown_faces SET snapshot_sha256 = NULL WHERE captured_at < ? AND snapshot_sha256 IS NOT NULL",
        (cutoff,),
    )
    return _delete_media(conn, media_dir, {r[1] for r in rows})
