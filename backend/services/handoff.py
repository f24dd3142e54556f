"""Officer keys and the officer-signed hand-off of a confirmed violation.

Each operator has an Ed25519 key, in one of two custodies chosen when the account is created:

- ``client``: the operator's own client holds the private key and the admin registers only its public key. The
  client fetches the exact hand-off bytes (``GET /api/v1/violations/{id}/handoff``), signs them, and sends the
  signature with the confirmation; the server checks it and never sees the private key.
- ``sealed`` (the default, so the server-rendered review page keeps working): the server generates the key and
  keeps the private key sealed with AES-256-GCM under a per-operator key derived (HKDF-SHA256) from the server's
  master key and the operator id, with the operator id as associated data; it is unsealed only inside the
  operator's own authenticated confirm request. A database copy alone cannot sign; the server's master key and
  database together can, which ``client`` custody avoids.

The hand-off (``notifications.police_handoff``) embeds the camera's signed manifest and is verifiable by the police
with public keys only.
"""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backend.services.errors import BadInputError, ConflictError
from backend.store.handoffs import OperatorKey
from backend.store.violations import EvidenceFile, ViolationRecord
from notifications.police_handoff import FORMAT, canonical

SEAL_INFO = b"kuzet operator signing key v1:"
SIGNED_AT_SKEW_S = 600.0


def _seal_key(master: bytes, operator_id: str) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None, info=SEAL_INFO + operator_id.encode()).derive(master)


def new_key(operator_id: str, public_key: str | None, master: bytes) -> OperatorKey:
    """A ``client`` key from an uploaded public key (hex), else a fresh ``sealed`` key.

    Raises:
        BadInputError: the uploaded public key is not 64 hex characters of an Ed25519 key.
    """
    now = datetime.now(UTC).isoformat()
    if public_key is not None:
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
        except ValueError as exc:
            raise BadInputError("Bad public key", "public_key must be 64 hex characters (raw Ed25519)") from exc
        return OperatorKey(operator_id, public_key.lower(), "client", None, now)
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(_seal_key(master, operator_id)).encrypt(nonce, raw, operator_id.encode())
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    return OperatorKey(operator_id, public, "sealed", base64.b64encode(sealed).decode(), now)


def sign_sealed(key: OperatorKey, master: bytes, data: bytes) -> str:
    """Unseal a ``sealed`` key and sign ``data``; hex signature."""
    assert key.sealed_private_key is not None  # custody 'sealed' (a table CHECK)
    blob = base64.b64decode(key.sealed_private_key)
    raw = AESGCM(_seal_key(master, key.operator_id)).decrypt(blob[:12], blob[12:], key.operator_id.encode())
    return Ed25519PrivateKey.from_private_bytes(raw).sign(data).hex()


def check_client_signature(key: OperatorKey, data: bytes, signature: str | None) -> str:
    """The client's hex signature of ``data`` when it verifies with the operator's registered key.

    Raises:
        ConflictError: no signature sent, or it does not verify.
    """
    if signature is None:
        raise ConflictError(
            "Officer signature needed",
            "this operator holds their own key: sign the bytes of GET .../handoff and send signature and signed_at",
            reasons=["officer signature missing"],
        )
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(key.public_key)).verify(bytes.fromhex(signature), data)
    except (InvalidSignature, ValueError) as exc:
        raise ConflictError(
            "Officer signature invalid",
            "the signature does not verify with the operator's registered key over the hand-off bytes",
            reasons=[f"officer signature invalid ({type(exc).__name__})"],
        ) from exc
    return signature


def check_signed_at(signed_at: str) -> None:
    """A client's signing time must be close to now (no old or future-dated signatures).

    Raises:
        BadInputError: unparseable, or more than ``SIGNED_AT_SKEW_S`` from now.
    """
    try:
        when = datetime.fromisoformat(signed_at)
    except ValueError as exc:
        raise BadInputError("Bad signed_at", f"{signed_at!r} is not an ISO time") from exc
    if when.tzinfo is None or abs((datetime.now(UTC) - when).total_seconds()) > SIGNED_AT_SKEW_S:
        raise BadInputError("Bad signed_at", f"signed_at must be timezone-aware and within {SIGNED_AT_SKEW_S:.0f} s")


def handoff_payload(
    record: ViolationRecord,
    camera: tuple[bytes, bytes, str],
    files: list[EvidenceFile],
    officer: tuple[str, str, str],
    plate_and_time: tuple[str, str],
) -> dict[str, Any]:
    """The hand-off an officer signs (deterministic in its inputs).

    Args:
        record: the violation.
        camera: ``(manifest bytes, signature file bytes, registered camera key hex)``.
        files: the evidence files by role.
        officer: ``(operator id, user name, public key hex)``.
        plate_and_time: the plate acted on and the signing time (ISO).
    """
    manifest, signature, camera_key = camera
    plate, signed_at = plate_and_time
    return {
        "format": FORMAT,
        "violation_id": record.violation_id,
        "violation": record.kind,
        "camera_id": record.camera_id,
        "district": record.district,
        "location": record.location,
        "captured_at": record.captured_at,
        "clock_source": record.clock_source,
        "vehicle_class": record.vehicle_class,
        "speed_kmh": record.speed_kmh,
        "signal": {"state": record.signal_state, "source": record.signal_source},
        "plate": plate,
        "plate_read": record.plate_read,
        "plate_raw": record.plate_raw,
        "plate_corrected_by_operator": plate != record.plate_read,
        "evidence_sha256": record.evidence_sha256,
        "evidence_files": [{"role": f.role, "sha256": f.sha256, "media_type": f.media_type} for f in files],
        "camera": {
            "manifest": base64.b64encode(manifest).decode(),
            "signature": signature.decode().strip(),
            "public_key": camera_key,
        },
        "officer": {"operator_id": officer[0], "username": officer[1], "public_key": officer[2]},
        "signed_at": signed_at,
    }


def handoff_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes signed (``notifications.police_handoff.canonical``)."""
    return canonical(payload)
