"""The interface every object store of attachment bytes implements (keys are SHA-256 hex digests)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class ObjectStore(Protocol):
    """Bytes by content hash. Puts are idempotent: the first write of a hash wins unless ``replace`` is set."""

    def put(self, sha256: str, data: bytes, *, replace: bool = False, tags: Mapping[str, str] | None = None) -> bool:
        """Store ``data`` under ``sha256``; returns False when an object was already there and was kept.

        Args:
            sha256: hex digest naming the object (of the plain bytes; ``data`` may be their sealed form).
            data: the bytes to store.
            replace: overwrite an existing object (used when a plaintext file is rewritten sealed).
            tags: object tags (S3: used by the lifecycle rule); a store without tags ignores them.
        """

    def get(self, sha256: str) -> bytes | None:
        """The stored bytes, or None when there is no object."""

    def delete(self, sha256: str) -> None:
        """Remove the object (no error when it is not there)."""

    def where(self, sha256: str) -> str:
        """Where the object lives, for people (a path or an s3:// URL)."""
