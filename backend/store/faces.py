"""Face data of pupils: consent, sealed templates (each tagged with the embedder that made it) and thumbnail, and
each school's versioned gallery of changes.

Blobs arrive here sealed (``backend.services.privacy`` encrypts and decrypts); this module only stores them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from backend.store.dialect import IN_LIST_CHUNK, scalars


@dataclass(frozen=True, slots=True)
class Consent:
    """Consent (or its withdrawal) to face enrolment, as recorded."""

    pupil_id: str
    granted: bool
    given_by: str
    recorded_by: str
    recorded_at: str


@dataclass(frozen=True, slots=True)
class SealedTemplate:
    """A face template as stored: AES-GCM ``nonce`` and ``ciphertext`` of the embedding."""

    template_id: str
    pupil_id: str
    school_id: str
    model: str
    nonce: bytes
    ciphertext: bytes


def consent_granted(conn: sqlite3.Connection, pupil_id: str) -> bool:
    """Whether consent is on record and not withdrawn."""
    row = conn.execute("SELECT granted FROM consents WHERE pupil_id = :pupil_id", {"pupil_id": pupil_id}).fetchone()
    return bool(row and row[0])


def withdrawn_consents(conn: sqlite3.Connection, pupil_ids: Sequence[str]) -> set[str]:
    """Which of ``pupil_ids`` have their consent on record as withdrawn (one ``IN`` query per 500 ids)."""
    found: set[str] = set()
    for start in range(0, len(pupil_ids), IN_LIST_CHUNK):
        chunk = {f"k{i}": p for i, p in enumerate(pupil_ids[start : start + IN_LIST_CHUNK])}
        marks = ", ".join(f":{k}" for k in chunk)
        rows = conn.execute(f"SELECT pupil_id FROM consents WHERE granted = 0 AND pupil_id IN ({marks})", chunk)
        found.update(str(r[0]) for r in rows)
    return found


def record_consent(conn: sqlite3.Connection, consent: Consent) -> None:
    """Record consent or its withdrawal (the latest record replaces the one before)."""
    conn.execute(
        "INSERT INTO consents(pupil_id, granted, given_by, recorded_by, recorded_at)"
        " VALUES (:pupil_id, :granted, :given_by, :recorded_by, :recorded_at) ON CONFLICT(pupil_id) DO UPDATE SET"
        " granted = excluded.granted, given_by = excluded.given_by, recorded_by = excluded.recorded_by,"
        " recorded_at = excluded.recorded_at",
        {"pupil_id": consent.pupil_id, "granted": int(consent.granted), "given_by": consent.given_by,
         "recorded_by": consent.recorded_by, "recorded_at": consent.recorded_at},
    )  # fmt: skip


def template_ids(conn: sqlite3.Connection, pupil_id: str) -> list[str]:
    """Ids of the pupil's templates."""
    sql = "SELECT template_id FROM face_templates WHERE pupil_id = :pupil_id"
    return scalars(conn.execute(sql, {"pupil_id": pupil_id}))


def template_count(conn: sqlite3.Connection, pupil_id: str) -> int:
    """How many templates the pupil has."""
    sql = "SELECT COUNT(*) FROM face_templates WHERE pupil_id = :pupil_id"
    return int(conn.execute(sql, {"pupil_id": pupil_id}).fetchone()[0])


def insert_templates(conn: sqlite3.Connection, templates: Sequence[SealedTemplate], created_at: str) -> None:
    """Store sealed templates."""
    conn.executemany(
        "INSERT INTO face_templates(template_id, pupil_id, school_id, model, nonce, ciphertext, created_at)"
        " VALUES (:template_id, :pupil_id, :school_id, :model, :nonce, :ciphertext, :created_at)",
        [{"template_id": t.template_id, "pupil_id": t.pupil_id, "school_id": t.school_id, "model": t.model,
          "nonce": t.nonce, "ciphertext": t.ciphertext, "created_at": created_at} for t in templates],
    )  # fmt: skip


def delete_templates(conn: sqlite3.Connection, pupil_id: str) -> None:
    """Delete every template of the pupil."""
    conn.execute("DELETE FROM face_templates WHERE pupil_id = :pupil_id", {"pupil_id": pupil_id})


def consented_templates(conn: sqlite3.Connection, school_id: str) -> list[SealedTemplate]:
    """Templates of the school's pupils whose consent stands, by template id."""
    rows = conn.execute(
        "SELECT t.template_id, t.pupil_id, t.school_id, t.model, t.nonce, t.ciphertext FROM face_templates t"
        " JOIN consents c ON c.pupil_id = t.pupil_id AND c.granted = 1 WHERE t.school_id = :school_id"
        " ORDER BY t.template_id",
        {"school_id": school_id},
    )
    return [SealedTemplate(*r) for r in rows]


def pupils_with_other_models(conn: sqlite3.Connection, school_id: str, model: str) -> list[str]:
    """Pupils of the school holding a template made by another embedder than ``model`` (to re-embed)."""
    rows = conn.execute(
        "SELECT DISTINCT pupil_id FROM face_templates WHERE school_id = :school_id AND model <> :model"
        " ORDER BY pupil_id",
        {"school_id": school_id, "model": model},
    )
    return scalars(rows)


def model_counts(conn: sqlite3.Connection, school_id: str) -> dict[str, int]:
    """Templates of the school per embedder tag."""
    rows = conn.execute(
        "SELECT model, COUNT(*) FROM face_templates WHERE school_id = :school_id GROUP BY model ORDER BY model",
        {"school_id": school_id},
    )
    return {str(m): int(n) for m, n in rows}


def save_thumbnail(conn: sqlite3.Connection, pupil_id: str, nonce: bytes, ciphertext: bytes) -> None:
    """Keep one sealed enrolment thumbnail per pupil (a new one replaces the old)."""
    conn.execute(
        "INSERT INTO face_thumbnails(pupil_id, nonce, ciphertext) VALUES (:pupil_id, :nonce, :ciphertext)"
        " ON CONFLICT(pupil_id) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext",
        {"pupil_id": pupil_id, "nonce": nonce, "ciphertext": ciphertext},
    )


def thumbnail(conn: sqlite3.Connection, pupil_id: str) -> tuple[bytes, bytes] | None:
    """(nonce, ciphertext) of the pupil's thumbnail, or None."""
    sql = "SELECT nonce, ciphertext FROM face_thumbnails WHERE pupil_id = :pupil_id"
    row = conn.execute(sql, {"pupil_id": pupil_id}).fetchone()
    return None if row is None else (bytes(row[0]), bytes(row[1]))


def delete_thumbnail(conn: sqlite3.Connection, pupil_id: str) -> None:
    """Delete the pupil's thumbnail."""
    conn.execute("DELETE FROM face_thumbnails WHERE pupil_id = :pupil_id", {"pupil_id": pupil_id})


def gallery_version(conn: sqlite3.Connection, school_id: str) -> int:
    """The school's current gallery version (0: never changed)."""
    sql = "SELECT version FROM gallery_versions WHERE school_id = :school_id"
    row = conn.execute(sql, {"school_id": school_id}).fetchone()
    return int(row[0]) if row else 0


def add_gallery_version(
    conn: sqlite3.Connection, school_id: str, version: int, changes: Sequence[tuple[str, str]]
) -> None:
    """Set the school's gallery version and record its (template_id, op) changes, op ``add`` or ``remove``."""
    conn.execute(
        "INSERT INTO gallery_versions(school_id, version) VALUES (:school_id, :version)"
        " ON CONFLICT(school_id) DO UPDATE SET version = excluded.version",
        {"school_id": school_id, "version": version},
    )
    conn.executemany(
        "INSERT INTO gallery_changes(school_id, version, template_id, op)"
        " VALUES (:school_id, :version, :template_id, :op)",
        [{"school_id": school_id, "version": version, "template_id": t, "op": op} for t, op in changes],
    )


def last_changes_since(conn: sqlite3.Connection, school_id: str, since: int) -> list[tuple[str, str]]:
    """(template_id, op) of each template changed after version ``since``, its latest change only."""
    rows = conn.execute(
        "SELECT template_id, op FROM gallery_changes c WHERE school_id = :school_id AND version > :since"
        " AND version = (SELECT MAX(version) FROM gallery_changes d WHERE d.school_id = c.school_id"
        " AND d.template_id = c.template_id)",
        {"school_id": school_id, "since": since},
    )
    return [(str(r[0]), str(r[1])) for r in rows]
