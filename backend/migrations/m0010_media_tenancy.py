"""Who uploaded each attachment (``media_uploads``) and whether its file is sealed at rest (``media.sealed``).

Attachments are stored once per SHA-256, but every device that uploads the bytes is recorded with its tenant at
upload time (``kind`` + ``site``: a school's door cameras, a district's traffic cameras). An event may cite only
media its own tenant uploaded. Existing rows get their first uploader from ``media.camera_id``; existing files are
plaintext (``sealed = 0``) until the retention purge seals them (``backend.services.media``).
"""

from __future__ import annotations

import sqlite_utils

VERSION = 10


def apply(db: sqlite_utils.Database) -> None:
    """Create ``media_uploads``, fill it from ``media``, add ``media.sealed`` and the receipt-time index."""
    db.execute(
        """CREATE TABLE media_uploads (
            sha256 TEXT NOT NULL REFERENCES media(sha256) ON DELETE CASCADE,
            camera_id TEXT NOT NULL REFERENCES devices(camera_id),
            kind TEXT NOT NULL,
            site TEXT NOT NULL,
            uploaded_at TEXT NOT NULL,
            PRIMARY KEY (sha256, camera_id)
        )"""
    )
    db.execute("CREATE INDEX media_uploads_tenant ON media_uploads(kind, site, sha256)")
    db.execute(
        "INSERT INTO media_uploads(sha256, camera_id, kind, site, uploaded_at)"
        " SELECT m.sha256, m.camera_id, d.kind, d.site, m.stored_at FROM media m JOIN devices d"
        " ON d.camera_id = m.camera_id"
    )
    db.execute("ALTER TABLE media ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0")
    db.execute("CREATE INDEX media_stored_at ON media(stored_at)")
    db.execute("CREATE INDEX event_attachments_sha ON event_attachments(sha256)")
