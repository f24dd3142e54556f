"""The object store the settings name: files under ``media_dir`` (default) or S3 (``media.store: s3://...``)."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from backend.objects.base import ObjectStore
from backend.objects.config import MediaStoreSettings
from backend.objects.files import FileObjectStore

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=8)
def object_store(media: MediaStoreSettings, media_dir: Path, school_retention_days: int) -> ObjectStore:
    """The store of these settings, one per process and settings (an S3 client holds a connection pool).

    The first call for an S3 store creates the bucket (``create_bucket``) and installs the lifecycle rule
    (``lifecycle``), so a wrong endpoint or bucket fails at start, not at the first upload.
    """
    if media.store is None:
        return FileObjectStore(media_dir)
    from backend.objects.s3 import S3ObjectStore

    store = S3ObjectStore(media)
    store.prepare(media, school_retention_days)
    logger.info("attachments in %s (endpoint %s)", media.store, media.endpoint_url or "AWS")
    return store
