"""Attachments by SHA-256: their bytes on the file system and their rows (``media``) in the database."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from backend.store.dialect import existing


@dataclass(frozen=True, slots=True)
class MediaRow:
    """An attachment stored by a camera."""

    sha256: str
    media_type: str
    size_bytes: int
    camera_id: str
    stored_at: str


def media_path(root: Path, sha256: str) -> Path:
    """Where the bytes of an attachment live on disk (``root/ab/abcd...``)."""
    return root / sha256[:2] / sha256


def read_media(root: Path, sha256: str) -> bytes | None:
    """The stored bytes of ``sha256``, or None when they were never uploaded (or were purged)."""
    path = media_path(root, sha256)
    return path.read_bytes() if path.is_file() else None


def media_type(conn: sqlite3.Connection, sha256: str) -> str | None:
    """The media type of a stored attachment, or None when it is not stored."""
    row = conn.execute("SELECT media_type FROM media WHERE sha256 = :sha256", {"sha256": sha256}).fetchone()
    return None if row is None else str(row[0])


def existing_shas(conn: sqlite3.Connection, shas: Sequence[str]) -> set[str]:
    """Which of ``shas`` are stored."""
    return existing(conn, "media", "sha256", shas)


def insert(conn: sqlite3.Connection, row: MediaRow) -> None:
    """Record stored bytes (a second upload of the same bytes changes nothing)."""
    conn.execute(
        "INSERT INTO media(sha256, media_type, size_bytes, camera_id, stored_at)"
        " VALUES (:sha256, :media_type, :size_bytes, :camera_id, :stored_at) ON CONFLICT(sha256) DO NOTHING",
        {"sha256": row.sha256, "media_type": row.media_type, "size_bytes": row.size_bytes,
         "camera_id": row.camera_id, "stored_at": row.stored_at},
    )  # fmt: skip


def delete(conn: sqlite3.Connection, root: Path, sha256: str) -> None:
    """Forget an attachment: its file and its row."""
    media_path(root, sha256).unlink(missing_ok=True)
    conn.execute("DELETE FROM media WHERE sha256 = :sha256", {"sha256": sha256})
