"""Evidence you can trust: camera keys registered with the device, anchored chain heads, officer keys, hand-offs.

- ``devices.evidence_public_key``: the camera's Ed25519 evidence key (hex), registered by the platform admin when
  the camera is enrolled (``POST /api/v1/devices``); packages signed with any other key are not verified. The
  trust-on-first-use pins of ``evidence_keys`` (m0301) are carried over as registrations, then the table stays
  unused (kept for the record of who was pinned when).
- ``evidence_heads``: per camera, the newest package's sequence number and manifest hash seen on ingest.
- ``evidence_conflicts``: every rollback, fork, gap or replayed sequence the anchor caught.
- ``operator_keys``: each operator's Ed25519 public key, its custody (``client``: the operator holds the private
  key; ``sealed``: the server holds it sealed with a per-operator key) and the sealed private key.
- ``violation_handoffs``: the officer-signed payload sent to the police for each confirmed violation.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 303


def apply(db: sqlite_utils.Database) -> None:
    """Add the column and the four tables; carry pinned keys over as registered keys."""
    db.execute("ALTER TABLE devices ADD COLUMN evidence_public_key TEXT")
    db.execute(
        "UPDATE devices SET evidence_public_key ="
        " (SELECT k.public_key FROM evidence_keys k WHERE k.camera_id = devices.camera_id)"
    )
    db.execute(
        """CREATE TABLE evidence_heads (
            camera_id TEXT PRIMARY KEY REFERENCES devices(camera_id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            manifest_sha256 TEXT NOT NULL,
            violation_id TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE evidence_conflicts (
            conflict_id TEXT PRIMARY KEY,
            camera_id TEXT NOT NULL,
            violation_id TEXT,
            kind TEXT NOT NULL CHECK (kind IN ('rollback', 'fork', 'gap', 'reported_head')),
            seq INTEGER NOT NULL,
            anchored_seq INTEGER NOT NULL,
            detail TEXT NOT NULL,
            at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX evidence_conflicts_camera ON evidence_conflicts(camera_id, at)")
    db.execute(
        """CREATE TABLE operator_keys (
            operator_id TEXT PRIMARY KEY REFERENCES users(user_id) ON DELETE CASCADE,
            public_key TEXT NOT NULL,
            custody TEXT NOT NULL CHECK (custody IN ('client', 'sealed')),
            sealed_private_key TEXT,
            created_at TEXT NOT NULL,
            CHECK ((custody = 'sealed') = (sealed_private_key IS NOT NULL))
        )"""
    )
    db.execute(
        """CREATE TABLE violation_handoffs (
            violation_id TEXT PRIMARY KEY REFERENCES violations(violation_id) ON DELETE CASCADE,
            operator_id TEXT NOT NULL,
            public_key TEXT NOT NULL,
            payload TEXT NOT NULL,
            signature TEXT NOT NULL,
            signed_at TEXT NOT NULL
        )"""
    )
