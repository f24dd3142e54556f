"""The default object store: one file per hash under ``media_dir`` (``ab/abcd...``), written atomically."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from backend.store import media as files


@dataclass(frozen=True, slots=True)
class FileObjectStore:
    """Files on the backend's own disk (the layout is ``backend.store.media``'s)."""

    root: Path

    def put(self, sha256: str, data: bytes, *, replace: bool = False, tags: Mapping[str, str] | None = None) -> bool:
        """Write the file (temporary file, fsync, rename); an existing file is kept unless ``replace``."""
        if not replace and files.media_path(self.root, sha256).is_file():
            return False
        files.write_file(self.root, sha256, data)
        return True

    def get(self, sha256: str) -> bytes | None:
        """The file's bytes, or None."""
        return files.read_media(self.root, sha256)

    def delete(self, sha256: str) -> None:
        """Unlink the file if it is there."""
        files.media_path(self.root, sha256).unlink(missing_ok=True)

    def where(self, sha256: str) -> str:
        """The file's path."""
        return str(files.media_path(self.root, sha256))
