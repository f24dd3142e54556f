"""Attachments by SHA-256: their files on the file system, their rows (``media``) and who uploaded them
(``media_uploads``, with the uploader's tenant: ``kind`` + ``site``).

The files hold whatever ``backend.services.media`` writes (sealed bytes); this module does not look inside them.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from backend.store.dialect import IN_LIST_CHUNK, existing, scalars


@dataclass(frozen=True, slots=True)
class MediaRow:
    """An attachment stored by a camera (``sealed``: its file is encrypted at rest)."""

    sha256: str
    media_type: str
    size_bytes: int
    camera_id: str
    stored_at: str
    sealed: bool = True


@dataclass(frozen=True, slots=True)
class StoredFacts:
    """What the backend recorded about stored bytes: their type and size."""

    media_type: str
    size_bytes: int


def media_path(root: Path, sha256: str) -> Path:
    """Where the bytes of an attachment live on disk (``root/ab/abcd...``)."""
    return root / sha256[:2] / sha256


def read_media(root: Path, sha256: str) -> bytes | None:
    """The file of ``sha256`` as stored, or None when it was never uploaded (or was purged)."""
    path = media_path(root, sha256)
    return path.read_bytes() if path.is_file() else None


def write_file(root: Path, sha256: str, data: bytes) -> None:
    """Write the file of ``sha256`` atomically and durably (a temporary file, fsync, rename)."""
    path = media_path(root, sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def media_type(conn: sqlite3.Connection, sha256: str) -> str | None:
    """The media type of a stored attachment, or None when it is not stored."""
    row = conn.execute("SELECT media_type FROM media WHERE sha256 = :sha256", {"sha256": sha256}).fetchone()
    return None if row is None else str(row[0])


def existing_shas(conn: sqlite3.Connection, shas: Sequence[str]) -> set[str]:
    """Which of ``shas`` are stored."""
    return existing(conn, "media", "sha256", shas)


def facts(conn: sqlite3.Connection, shas: Sequence[str]) -> dict[str, StoredFacts]:
    """Type and size of each of ``shas`` that is stored."""
    found: dict[str, StoredFacts] = {}
    for start in range(0, len(shas), IN_LIST_CHUNK):
        chunk = list(shas[start : start + IN_LIST_CHUNK])
        names = {f"k{i}": sha for i, sha in enumerate(chunk)}
        marks = ", ".join(f":{n}" for n in names)
        rows = conn.execute(f"SELECT sha256, media_type, size_bytes FROM media WHERE sha256 IN ({marks})", names)
        found.update({r[0]: StoredFacts(str(r[1]), int(r[2])) for r in rows})
    return found


def insert(conn: sqlite3.Connection, row: MediaRow) -> None:
    """Record stored bytes and their uploader (a second upload of the same bytes only adds its uploader)."""
    conn.execute(
        "INSERT INTO media(sha256, media_type, size_bytes, camera_id, stored_at, sealed)"
        " VALUES (:sha256, :media_type, :size_bytes, :camera_id, :stored_at, :sealed) ON CONFLICT(sha256) DO NOTHING",
        {"sha256": row.sha256, "media_type": row.media_type, "size_bytes": row.size_bytes,
         "camera_id": row.camera_id, "stored_at": row.stored_at, "sealed": int(row.sealed)},
    )  # fmt: skip
    record_upload(conn, row.sha256, row.camera_id, row.stored_at)


def record_upload(conn: sqlite3.Connection, sha256: str, camera_id: str, at: str) -> None:
    """Record that ``camera_id`` uploaded the stored bytes ``sha256``, with the camera's tenant as it is now."""
    conn.execute(
        "INSERT INTO media_uploads(sha256, camera_id, kind, site, uploaded_at)"
        " SELECT :sha256, camera_id, kind, site, :at FROM devices WHERE camera_id = :camera_id"
        " ON CONFLICT(sha256, camera_id) DO NOTHING",
        {"sha256": sha256, "camera_id": camera_id, "at": at},
    )


def not_uploaded_by(conn: sqlite3.Connection, shas: Sequence[str], kind: str, site: str) -> set[str]:
    """Which of ``shas`` no device of tenant (``kind``, ``site``) ever uploaded (stored or not)."""
    owned: set[str] = set()
    for start in range(0, len(shas), IN_LIST_CHUNK):
        chunk = list(shas[start : start + IN_LIST_CHUNK])
        names = {f"k{i}": sha for i, sha in enumerate(chunk)}
        marks = ", ".join(f":{n}" for n in names)
        rows = conn.execute(
            f"SELECT DISTINCT sha256 FROM media_uploads WHERE kind = :kind AND site = :site AND sha256 IN ({marks})",
            {**names, "kind": kind, "site": site},
        )
        owned.update(r[0] for r in rows)
    return set(shas) - owned


def uploaded_by(conn: sqlite3.Connection, sha256: str, kind: str, site: str) -> bool:
    """Whether a device of tenant (``kind``, ``site``) uploaded ``sha256``."""
    return not not_uploaded_by(conn, [sha256], kind, site)


def unsealed(conn: sqlite3.Connection, limit: int) -> list[str]:
    """Up to ``limit`` attachments whose files are still plaintext (stored before sealing at rest)."""
    sql = "SELECT sha256 FROM media WHERE sealed = 0 ORDER BY stored_at LIMIT :limit"
    return scalars(conn.execute(sql, {"limit": limit}))


def mark_sealed(conn: sqlite3.Connection, sha256: str) -> None:
    """Record that the file of ``sha256`` is now sealed."""
    conn.execute("UPDATE media SET sealed = 1 WHERE sha256 = :sha256", {"sha256": sha256})


def delete_row(conn: sqlite3.Connection, sha256: str) -> None:
    """Forget an attachment's row and uploaders (the object store removed its bytes; references went first)."""
    conn.execute("DELETE FROM media WHERE sha256 = :sha256", {"sha256": sha256})


def delete(conn: sqlite3.Connection, root: Path, sha256: str) -> None:
    """Forget an attachment: its file, its row and its uploaders (the caller removed every reference first)."""
    media_path(root, sha256).unlink(missing_ok=True)
    conn.execute("DELETE FROM media WHERE sha256 = :sha256", {"sha256": sha256})
