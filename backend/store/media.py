"""Attachment bytes by SHA-256 on the file system: where they live and how they are read."""

from __future__ import annotations

from pathlib import Path


def media_path(root: Path, sha256: str) -> Path:
    """Where the bytes of an attachment live on disk (``root/ab/abcd...``)."""
    return root / sha256[:2] / sha256


def read_media(root: Path, sha256: str) -> bytes | None:
    """The stored bytes of ``sha256``, or None when they were never uploaded (or were purged)."""
    path = media_path(root, sha256)
    return path.read_bytes() if path.is_file() else None
