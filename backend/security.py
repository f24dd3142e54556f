"""Secrets: device API keys (random, shown once, stored only as a hash) and the bearer header they come in."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "kz"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key: ``plaintext`` goes to the device once; only ``key_id`` and ``key_hash`` are stored."""

    key_id: str
    key_hash: str
    plaintext: str


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy secret (a password would need a slow KDF; a 192-bit random key does not)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (stripped; may be empty), else None.

    The one parser of bearer credentials: device keys, the admin token and session tokens all come through it.
    """
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def issue_key() -> IssuedKey:
    """Make a key ``kz_<id>_<secret>``; the id locates the row, the secret is checked against its hash."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    return IssuedKey(key_id=key_id, key_hash=hash_secret(secret), plaintext=f"{KEY_PREFIX}_{key_id}_{secret}")


def split_key(presented: str) -> tuple[str, str] | None:
    """(key_id, secret) of a presented key, or None when it is not shaped like one of ours."""
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def secret_matches(secret: str, key_hash: str) -> bool:
    """Constant-time comparison of a presented secret with the stored hash."""
    return hmac.compare_digest(hash_secret(secret), key_hash)
