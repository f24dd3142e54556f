"""Gallery sync: the door device pulls only the changes since its version; offline it keeps its last copy.

Route (served by the backend, contract in ``kuzet.contracts.GalleryDelta``):
``GET /api/v1/schools/{school_id}/gallery?since={version}`` with the device key in ``X-API-Key``; the answer is a
``GalleryDelta`` from ``since`` (or from 0, the whole gallery, when the backend no longer has that version).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

from edge.config import UplinkConfig
from edge.school.gallery import Gallery, GalleryFile, GalleryVersionError
from kuzet.contracts import GalleryDelta

logger = logging.getLogger(__name__)


class GallerySyncError(RuntimeError):
    """The backend could not be reached or answered with an error; the local copy stays in use."""


@dataclass(frozen=True, slots=True)
class SyncResult:
    """Outcome of one sync: the version before and after, and the error when the backend was unreachable."""

    from_version: int
    to_version: int
    added: int
    removed: int
    error: str | None = None


class GalleryClient:
    """Fetches gallery deltas from the backend with the device key."""

    def __init__(self, config: UplinkConfig, client: httpx.Client | None = None) -> None:
        self.client = client or httpx.Client(base_url=str(config.backend_url).rstrip("/"), timeout=config.timeout_s)
        self.headers = {"X-API-Key": config.api_key}

    def fetch(self, school_id: str, since: int) -> GalleryDelta:
        """The delta from version ``since``.

        Raises:
            GallerySyncError: network failure or a non-200 answer.
        """
        url = f"/api/v1/schools/{school_id}/gallery"
        try:
            response = self.client.get(url, params={"since": since}, headers=self.headers)
        except httpx.HTTPError as exc:
            raise GallerySyncError(f"GET {url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise GallerySyncError(f"GET {url} answered {response.status_code}: {response.text[:200]}")
        return GalleryDelta.model_validate_json(response.content)


def sync_gallery(gallery: Gallery, school_id: str, client: GalleryClient, store: GalleryFile) -> SyncResult:
    """Bring ``gallery`` up to date and persist it (encrypted); when the backend is unreachable, keep the local copy.

    A delta that does not start at the local version (the backend compacted its history) is answered by asking
    for the whole gallery from version 0. Templates of another embedder than the gallery's are skipped by
    ``Gallery.apply`` (logged), never compared.
    """
    before = gallery.version
    try:
        delta = client.fetch(school_id, before)
        try:
            gallery.apply(delta)
        except GalleryVersionError:
            logger.warning("gallery delta starts at %d, local is %d: full resync", delta.from_version, before)
            delta = client.fetch(school_id, 0)
            gallery.apply(delta)
    except GallerySyncError as exc:
        logger.warning("gallery sync failed, identifying from local version %d: %s", before, exc)
        return SyncResult(before, before, 0, 0, str(exc))
    if delta.added or delta.removed or gallery.version != before:
        store.save(gallery)
    return SyncResult(before, gallery.version, len(delta.added), len(delta.removed))
