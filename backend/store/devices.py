"""Registered cameras (``devices``): their API key hash, product kind, site, last upload and evidence key."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from backend.store.dialect import try_insert

_COLUMNS = "camera_id, kind, site, description, created_at, revoked_at, last_seen_at, evidence_public_key"


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """One registered camera (never its key hash)."""

    camera_id: str
    kind: str
    site: str
    description: str
    created_at: str
    revoked_at: str | None
    last_seen_at: str | None
    evidence_public_key: str | None = None


@dataclass(frozen=True, slots=True)
class NewKey:
    """A camera to store with its freshly issued key."""

    camera_id: str
    kind: str
    site: str
    description: str
    key_id: str
    key_hash: str
    created_at: str


def get(conn: sqlite3.Connection, camera_id: str) -> DeviceRow | None:
    """The camera ``camera_id``, or None when it is not registered."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM devices WHERE camera_id = :camera_id", {"camera_id": camera_id})
    found = row.fetchone()
    return None if found is None else DeviceRow(*found)


def all_devices(conn: sqlite3.Connection) -> list[DeviceRow]:
    """Every registered camera by id."""
    return [DeviceRow(*r) for r in conn.execute(f"SELECT {_COLUMNS} FROM devices ORDER BY camera_id")]


def of_site(conn: sqlite3.Connection, kind: str, site: str) -> list[DeviceRow]:
    """Cameras of one product ``kind`` at ``site`` (a school's door cameras), by id."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM devices WHERE kind = :kind AND site = :site ORDER BY camera_id",
        {"kind": kind, "site": site},
    )
    return [DeviceRow(*r) for r in rows]


def upsert_key(conn: sqlite3.Connection, device: NewKey) -> bool:
    """Register a camera or give an existing one a new key (un-revoking it); False when the key id collided."""
    return try_insert(
        conn,
        "INSERT INTO devices(camera_id, kind, site, description, key_id, key_hash, created_at)"
        " VALUES (:camera_id, :kind, :site, :description, :key_id, :key_hash, :created_at)"
        " ON CONFLICT(camera_id) DO UPDATE SET kind = excluded.kind, site = excluded.site,"
        " description = excluded.description, key_id = excluded.key_id, key_hash = excluded.key_hash,"
        " revoked_at = NULL",
        _params(device),
    )


def insert(conn: sqlite3.Connection, device: NewKey) -> bool:
    """Register a new camera; False when the camera id (or the key id) is taken."""
    return try_insert(
        conn,
        "INSERT INTO devices(camera_id, kind, site, description, key_id, key_hash, created_at)"
        " VALUES (:camera_id, :kind, :site, :description, :key_id, :key_hash, :created_at)",
        _params(device),
    )


def revoke(conn: sqlite3.Connection, camera_id: str, at: str) -> None:
    """Revoke the camera's key at ``at`` (a key revoked earlier keeps its first revocation time)."""
    conn.execute(
        "UPDATE devices SET revoked_at = :at WHERE camera_id = :camera_id AND revoked_at IS NULL",
        {"at": at, "camera_id": camera_id},
    )


def touch(conn: sqlite3.Connection, camera_id: str, at: str) -> None:
    """Record an upload of the camera at ``at``."""
    conn.execute(
        "UPDATE devices SET last_seen_at = :at WHERE camera_id = :camera_id", {"at": at, "camera_id": camera_id}
    )


def set_evidence_key(conn: sqlite3.Connection, camera_id: str, public_key: str | None) -> bool:
    """Register (or with None, clear) the camera's evidence signing key (hex); False when no such camera."""
    cursor = conn.execute(
        "UPDATE devices SET evidence_public_key = :key WHERE camera_id = :camera_id",
        {"key": public_key, "camera_id": camera_id},
    )
    return cursor.rowcount == 1


def _params(device: NewKey) -> dict[str, str]:
    return {
        "camera_id": device.camera_id,
        "kind": device.kind,
        "site": device.site,
        "description": device.description,
        "key_id": device.key_id,
        "key_hash": device.key_hash,
        "created_at": device.created_at,
    }


@dataclass(frozen=True, slots=True)
class KeyCredentials:
    """What authenticating a device key needs: the camera, its key hash and whether the key was revoked."""

    camera_id: str
    kind: str
    site: str
    key_hash: str
    revoked_at: str | None


def credentials(conn: sqlite3.Connection, key_id: str) -> KeyCredentials | None:
    """The camera holding key ``key_id``, or None when no camera does."""
    row = conn.execute(
        "SELECT camera_id, kind, site, key_hash, revoked_at FROM devices WHERE key_id = :key_id", {"key_id": key_id}
    ).fetchone()
    return None if row is None else KeyCredentials(*row)
