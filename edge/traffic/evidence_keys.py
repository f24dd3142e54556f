"""Camera signing keys of the evidence chain: one Ed25519 key per camera, generated on the device.

The private key never leaves the device (PEM file, mode 0600, folder 0700); the public key (hex, next to it in
``{camera_id}.ed25519.pub``) is what the platform admin registers with the camera (``POST /api/v1/devices``
``evidence_public_key``), so the backend trusts a package only when it is signed by the registered key.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

logger = logging.getLogger(__name__)


class KeyFileError(RuntimeError):
    """A camera key file is unreadable, malformed or readable by others."""


def key_paths(key_dir: Path, camera_id: str) -> tuple[Path, Path]:
    """``(private, public)`` key file paths of one camera."""
    return key_dir / f"{camera_id}.ed25519", key_dir / f"{camera_id}.ed25519.pub"


def public_hex(key: Ed25519PrivateKey) -> str:
    """Raw 32-byte public key as lower-case hex."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def load_or_create_key(key_dir: Path, camera_id: str) -> Ed25519PrivateKey:
    """The camera's Ed25519 signing key; generated (file mode 0600, folder 0700) when absent.

    Raises:
        KeyFileError: the key file is group/other accessible or is not an Ed25519 PEM key.
    """
    private, public = key_paths(key_dir, camera_id)
    if not private.exists():
        key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        public.write_text(public_hex(key) + "\n")
        logger.info("generated signing key for camera %s at %s", camera_id, private)
        return key
    mode = stat.S_IMODE(private.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(f"{private} has mode {mode:o}; it must be readable by its owner only (chmod 600)")
    try:
        loaded = serialization.load_pem_private_key(private.read_bytes(), password=None)
    except ValueError as exc:
        raise KeyFileError(f"{private} is not a PEM private key: {exc}") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise KeyFileError(f"{private} holds a {type(loaded).__name__}, not an Ed25519 key")
    return loaded


def registered_key(key_dir: Path, camera_id: str) -> str | None:
    """The camera's public key (hex) from a registry folder of ``{camera_id}.ed25519.pub`` files, or None."""
    path = key_paths(key_dir, camera_id)[1]
    return path.read_text().strip().lower() if path.is_file() else None
