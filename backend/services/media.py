"""Attachments bound to their tenant and sealed at rest.

Tenancy: every upload is recorded with the uploading camera's tenant (``kind`` + ``site``: a school's door cameras,
a traffic district's cameras). An event may cite only bytes a camera of its own tenant uploaded (``check_citations``,
called by ingest before anything is stored), and a person fetches media only through an object of their own tenant
whose tenant also uploaded the bytes; "not yours" and "not there" are the same 404.

At rest: each file is ``KZM1`` + a 12-byte nonce + AES-GCM(bytes) with the SHA-256 as associated data, so a file
cannot be swapped for another hash and nothing on disk reads as a JPEG. The key is derived (HKDF-SHA256) from
``settings.template_key``, the face-template key, so there is one secret to manage and rotate, yet templates and
media never share a key. Files written before sealing (``media.sealed = 0``) are still readable after their hash is
checked, and ``seal_plaintext`` (run by the retention purge) rewrites them sealed.

Where: the vault's ``objects`` store (``backend.objects``): files under ``media_dir`` by default, or an S3 bucket
when ``media.store`` is ``s3://bucket/prefix``; either way by content hash, sealed the same way, with the same
tenancy rows in the database.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backend.objects.base import ObjectStore
from backend.objects.factory import object_store
from backend.services.errors import BadInputError, NotFoundError
from backend.settings import Settings
from backend.store import devices, retention
from backend.store import media as store
from kuzet.contracts import EventBase

logger = logging.getLogger(__name__)

MAGIC = b"KZM1"
NONCE_BYTES = 12
KEY_INFO = b"kuzet media at rest v1"


def media_key(template_key: bytes) -> bytes:
    """The 32-byte media key derived from the template key (HKDF-SHA256, its own ``info``)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_INFO).derive(template_key)


@dataclass(frozen=True, slots=True)
class MediaVault:
    """The attachments of one backend: the object store that holds them and the key that seals them."""

    objects: ObjectStore
    key: bytes

    @classmethod
    def of(cls, settings: Settings) -> MediaVault:
        """The vault of these settings (``media_dir`` or ``media.store``, key from ``template_key``)."""
        store = object_store(settings.media, settings.media_dir, settings.school.snapshot_retention_days)
        return cls(store, media_key(settings.template_key_bytes))

    def seal(self, sha256: str, data: bytes) -> bytes:
        """The sealed file content of ``data`` (whose hash is ``sha256``)."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return MAGIC + nonce + AESGCM(self.key).encrypt(nonce, data, sha256.encode())

    def write(self, sha256: str, data: bytes, *, tenant_kind: str | None = None, replace: bool = False) -> bool:
        """Store ``data`` sealed under its hash; False when the object was already there (kept: same bytes).

        ``tenant_kind`` (``school``/``traffic``) tags the object for the store's lifecycle rule; ``replace``
        rewrites an existing object (a plaintext file being sealed).
        """
        tags = {"retention": tenant_kind} if tenant_kind else None
        return self.objects.put(sha256, self.seal(sha256, data), replace=replace, tags=tags)

    def read(self, sha256: str) -> bytes | None:
        """The plain bytes of ``sha256``, or None when there is no file (or it is not what the hash says)."""
        raw = self.objects.get(sha256)
        if raw is None:
            return None
        if raw.startswith(MAGIC):
            nonce, body = raw[len(MAGIC) : len(MAGIC) + NONCE_BYTES], raw[len(MAGIC) + NONCE_BYTES :]
            try:
                return AESGCM(self.key).decrypt(nonce, body, sha256.encode())
            except InvalidTag:
                logger.debug("media %s: not sealed with this key; trying it as a plaintext file", sha256)
        if hashlib.sha256(raw).hexdigest() == sha256:
            return raw  # written before sealing at rest
        logger.error("media %s: the file is neither sealed with this key nor the plain bytes", sha256)
        return None


def check_citations(conn: sqlite3.Connection, camera_id: str, events: Sequence[EventBase]) -> None:
    """Refuse a batch whose events cite bytes that are not the citing camera's tenant's, or describe them wrongly.

    Called by ingest before anything else looks at the attachments, so bytes that only another tenant uploaded get
    the same answer as bytes never uploaded (nothing tells a device that a hash exists elsewhere). The refusal is a
    422 naming the events, so the device's uplink sends the batch one event at a time and sets aside only the
    offending event.

    Raises:
        BadInputError: an attachment was not uploaded by the tenant's cameras (never stored, or a school's snapshot
            cited by a traffic camera or by another school's door), or its media type / size differ from the stored
            bytes.
    """
    device = devices.get(conn, camera_id)
    wanted = sorted({a.sha256 for e in events for a in e.attachments})
    if device is None or not wanted:
        return
    foreign = store.not_uploaded_by(conn, wanted, device.kind, device.site)
    stored = store.facts(conn, wanted)
    problems: list[dict[str, str]] = []
    for event in events:
        for a in event.attachments:
            fact = stored.get(a.sha256)
            if a.sha256 in foreign:  # never stored, or only by another tenant: one answer for both
                reason = (
                    f"attachment {a.sha256} was not uploaded by a camera of {device.kind} site {device.site!r};"
                    f" PUT it to /api/v1/media/{a.sha256} first"
                )
            elif fact is not None and (fact.media_type, fact.size_bytes) != (a.media_type, a.size_bytes):
                reason = (
                    f"attachment {a.sha256} is stored as {fact.media_type}, {fact.size_bytes} bytes; the event says"
                    f" {a.media_type}, {a.size_bytes} bytes"
                )
            else:
                continue
            problems.append({"event_id": str(event.event_id), "reason": reason})
    if problems:
        first = problems[0]
        raise BadInputError(
            "Attachment not citable", f"event {first['event_id']}: {first['reason']}", rejected=problems[:50]
        )


def tenant_media_type(conn: sqlite3.Connection, sha256: str, kind: str, site: str) -> str:
    """The media type of ``sha256`` when a camera of tenant (``kind``, ``site``) uploaded it.

    Raises:
        NotFoundError: it is not stored, or only another tenant uploaded it (the same answer for both).
    """
    media_type = store.media_type(conn, sha256)
    if media_type is None or not store.uploaded_by(conn, sha256, kind, site):
        raise NotFoundError("Unknown attachment", f"no attachment {sha256} here")
    return media_type


def school_media_type(conn: sqlite3.Connection, sha256: str, school_id: str) -> str:
    """The media type of ``sha256`` when a door camera of ``school_id`` uploaded it (else the same 404 as none)."""
    return tenant_media_type(conn, sha256, "school", school_id)


def seal_plaintext(conn: sqlite3.Connection, vault: MediaVault, limit: int = 500) -> int:
    """Rewrite up to ``limit`` files stored before sealing at rest; returns how many were sealed."""
    done = 0
    for sha in store.unsealed(conn, limit):
        data = vault.read(sha)
        if data is not None:
            vault.write(sha, data, replace=True)
            done += 1
        store.mark_sealed(conn, sha)
    return done


def forget(conn: sqlite3.Connection, vault: MediaVault, shas: Sequence[str]) -> int:
    """Delete attachments with every reference to them (any product's); returns how many."""
    for sha in shas:
        retention.drop_media_references(conn, sha)
        vault.objects.delete(sha)
        store.delete_row(conn, sha)
    return len(shas)
